"""What a WeCom message asks for, forgiving of wording and punctuation.

Pure: text in, a `Command` out. Who may ask what is decided in bot/answers.py. The text is
folded first (bot/wording.py: full-width, traditional characters, typos), so each keyword is
written once. A contact's question never becomes an office command by containing one of its
words: office commands are taken from a contact only in their exact form (`parse(office=False)`),
and answered there with what the contact may do instead.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from enum import StrEnum

from pydantic import BaseModel

from bot.wording import fold
from intake.withdrawal import line_names


class Intent(StrEnum):
    HELP = "help"
    STATUS = "status"
    MISSING = "missing"
    CHECKLIST = "checklist"
    DEADLINE = "deadline"
    SUMMARY = "summary"  # office: the campaign at a glance
    PENDING = "pending"  # office: units with nothing or with open errors
    UNIT = "unit"  # office: one unit's dossier
    PAPER = "paper"  # office: paper copies received (records a receipt)
    PAPER_STATUS = "paper_status"  # whether a unit's paper copies have arrived (records nothing)
    WITHDRAW = "withdraw"  # contact: "撤回 张三" asks to withdraw (the bot asks to confirm first)
    WITHDRAW_CONFIRM = "withdraw_confirm"  # contact: "确认撤回" does the withdrawal asked for
    HOW_TO_SEND = "how_to_send"  # "怎么补交材料": by mail, or as files in this chat
    CONTACT = "contact"  # "人工客服", "电话": the office's contact person and phone
    RESUBMITTED = "resubmitted"  # "已经补交了，为什么还是6项": what the desk has received and still lacks
    ATTRIBUTE = "attribute"  # "这张是夕阳红网校的照片": how a file is matched to a nominee
    PAPER_ADDRESS = "paper_address"  # "纸质材料寄到哪": where the stamped paper copies go
    MORE = "more"  # "更多": the next screen of the last long answer
    UNATTRIBUTED = "unattributed"  # "未归属": the files no nominee could be found for
    NOMINEE = "nominee"  # "莫婷婷": one of the unit's own nominees (bot/answers.py knows the names)
    MY_MATERIALS = "my_materials"  # contact: "我的材料": the unit's state in short and her own page link
    UNKNOWN = "unknown"


CONFIRM_WITHDRAW = "确认撤回"  # the only reply that carries out a withdrawal asked for in WeCom
NAME_SEPARATOR = "、"  # between the names of a WITHDRAW command's argument


class Command(BaseModel):
    intent: Intent
    argument: str = ""
    text: str = ""  # what was typed: the answerer looks in it for the unit's own nominees' names


# Office commands that take an argument are recognised only at the start: "单位 延边州", "纸质 延边州 已收".
# A paper command records a receipt only with a received word; a negation or a question only
# asks (a wrong receipt silences the unit's PAPER_PENDING finding, so asking must never record).
_RECEIVED = ("已寄到", "已收", "收到", "已到", "寄到", "签收", "送达")
_NOT_RECEIVED = ("未收", "没收", "没有收", "未到", "没到", "未寄到", "没寄到", "尚未", "还没", "未签收")
_QUESTION = re.compile(r"[吗么]|是否|有没有|了没|没有?$")  # on the folded text; "?" is checked before folding
# What may follow the unit's name in a paper command: received words, negations, question particles.
_PAPER_TAIL = re.compile(
    r"(?:[\s:：,，.。!！?？~～]|(?:是否|有没有)?(?:已经?|还?没有?|尚?未)?(?:寄到|收到|收|到|签收|送达)"
    r"|还?没有?|尚未|了没|了|吗|么)+$"
)

# "截至目前情况" is "the situation as of now", not a question about the deadline.
_AS_OF_NOW = re.compile(r"(?:截[至止]到?|到)(?:目前|现在|当前|此时|此刻)(?:为止)?")

# Asked before anything else: a screen's continuation and the folded list are replies to the bot.
_MORE = ("更多", "下一页", "下页", "继续", "more", "next", "后面的", "还有呢", "其余", "其他的")
_UNATTRIBUTED = ("未归属", "没归属", "未能归属", "无法归属", "没有归属", "不能归属", "归属不了", "未匹配")
# Where the paper copies go: asked of the office's address, never a receipt ("纸质 延边州 已寄到").
_PAPER_ADDRESS = re.compile(r"寄到?(?:哪|什么地方|何处)|寄给谁|往哪|邮到哪|送到哪|地址|收件人|怎么寄")
# "这张是夕阳红网校的照片", "刚才的视频是莫婷婷的": the contact says whose a file is.
_ATTRIBUTE = re.compile(
    r"(?:这|那|刚才|刚刚|上面|以上).{0,6}(?:是|属于|为).{0,20}(?:照片|图片|相片|视频|文件)"
    r"|(?:照片|图片|相片|视频|文件).{0,6}(?:是|属于).{1,20}的"
    r"|(?:这|那|刚才|刚刚|上面|以上).{0,4}(?:照片|图片|相片|视频|文件).{0,4}(?:是|属于)"
    r"|怎么归属|归到|归入|算到|算在"
)

# Checked in order; the first whose keyword the text contains wins (longer phrases first).
_KEYWORDS: list[tuple[Intent, tuple[str, ...]]] = [
    (Intent.PENDING, ("未交", "没交", "未报", "没报", "未完成", "催交")),
    (Intent.SUMMARY, ("汇总", "总体", "全省", "概况", "总览")),
    (
        Intent.RESUBMITTED,
        (
            "已经补交",
            "已补交",
            "补交了",
            "已经发送",
            "发送了",
            "已经发了",
            "发过了",
            "交过了",
            "已经交了",
            "为什么还是",
            "怎么还是",
            "为什么还",
            "怎么还",
            "还显示",
            "没有更新",
            "没更新",
            "没变",
            "收到了吗",
            "收到没",
            "收到我",
        ),
    ),
    (Intent.CONTACT, ("人工", "客服", "电话", "联系方式", "联系人", "联系谁", "找谁", "咨询", "热线", "手机号")),
    (
        Intent.HOW_TO_SEND,
        ("补交", "怎么发", "怎么交", "怎么报送", "发到哪", "交到哪", "报送方式", "邮箱", "发文件", "发送材料"),
    ),
    (Intent.MISSING, ("缺什么", "缺少", "还缺", "缺", "问题", "差什么", "还差", "哪些不合格", "错误", "不合格")),
    (Intent.CHECKLIST, ("清单", "要求", "需要哪些", "需要什么", "报什么", "材料要求")),
    (Intent.DEADLINE, ("截止", "截至", "期限", "什么时候", "最后一天", "deadline")),
    (Intent.MY_MATERIALS, ("我的材料", "本单位材料", "我们的材料", "材料页面", "材料链接", "我的链接", "页面链接")),
    (Intent.STATUS, ("状态", "进度", "情况", "怎么样", "审核", "结果", "status")),
    (Intent.HELP, ("帮助", "help", "菜单", "怎么用", "功能", "你好", "您好", "hi", "hello")),
]

# Office commands: taken from a contact only in exactly this form (then refused with what they may do).
OFFICE_EXACT = {"汇总": Intent.SUMMARY, "未交": Intent.PENDING}

# What `suggest` offers when nothing matched: the command as typed, and words close to its meaning.
CONTACT_COMMANDS: dict[str, tuple[str, ...]] = {
    "状态": ("状态", "进度", "情况", "审核结果"),
    "我的材料": ("我的材料", "材料页面", "链接", "上传视频"),
    "缺什么": ("缺什么", "缺少材料", "问题", "不合格", "还差"),
    "清单": ("清单", "报送要求", "需要哪些材料"),
    "截止": ("截止时间", "期限", "最后一天"),
    "怎么补交": ("补交材料", "发送文件", "邮箱", "上传"),
    "人工": ("人工", "人工客服", "电话", "联系方式"),
    "纸质材料寄到哪": ("纸质材料", "邮寄地址", "寄送"),
    "撤回 姓名": ("撤回", "撤销", "删除推荐对象"),
    "帮助": ("帮助", "菜单", "功能", "怎么用"),
}
OFFICE_COMMANDS: dict[str, tuple[str, ...]] = {
    "汇总": ("汇总", "全省概况", "总体情况"),
    "未交": ("未交", "没交的单位", "催交"),
    "单位 <单位名>": ("单位", "某个单位"),
    "纸质 <单位名> 已收": ("纸质", "纸质材料收到", "登记纸质"),
}

MENU_KEYS = {
    "status": Intent.STATUS,
    "missing": Intent.MISSING,
    "checklist": Intent.CHECKLIST,
    "deadline": Intent.DEADLINE,
    "help": Intent.HELP,
    "summary": Intent.SUMMARY,
    "pending": Intent.PENDING,
}


def parse(text: str, *, office: bool = True) -> Command:
    """What `text` asks; `office=False` for a unit's contact, from whom office commands count only
    in their exact form ("汇总"), so "全省情况怎么样" is their own status, not the campaign's."""
    command = _parse(text or "", office=office)
    return command.model_copy(update={"text": text or ""})


def _parse(text: str, *, office: bool) -> Command:
    folded = fold(text)
    if not folded or folded in {"?", "h"}:
        return Command(intent=Intent.HELP)
    raw = unicodedata.normalize("NFKC", text).strip()
    if folded == CONFIRM_WITHDRAW:
        return Command(intent=Intent.WITHDRAW_CONFIRM)
    if "撤回" in folded:
        # "撤回 张三、李四" -> the names; any other mention ("怎么撤回") asks how, with no name.
        return Command(intent=Intent.WITHDRAW, argument=NAME_SEPARATOR.join(line_names(raw)))
    if any(folded.startswith(word) for word in _MORE) and len(folded) <= 6:
        return Command(intent=Intent.MORE)
    if any(word in folded for word in _UNATTRIBUTED):
        return Command(intent=Intent.UNATTRIBUTED)
    if _PAPER_ADDRESS.search(folded):
        return Command(intent=Intent.PAPER_ADDRESS)
    if _ATTRIBUTE.search(folded):
        return Command(intent=Intent.ATTRIBUTE)
    if folded.startswith("纸质"):
        paper = _paper(raw, folded)
        if not office and paper.intent == Intent.PAPER and not paper.argument:
            # "纸质材料已寄到": a contact telling or asking about their own copies, never the receipt command
            return Command(intent=Intent.PAPER_STATUS)
        return paper
    if folded.startswith("单位"):
        argument = re.sub(r"^\s*单位[\s:：]*", "", raw).strip()
        # "单位状态", "单位的进度": a contact asking about their own unit, not "单位 <name>".
        rest = fold(argument).removeprefix("的")
        if not any(rest.startswith(word) for _, words in _KEYWORDS for word in words):
            return Command(intent=Intent.UNIT, argument=argument)
    if not office:
        if folded in OFFICE_EXACT:
            return Command(intent=OFFICE_EXACT[folded])
        keywords = [(i, w) for i, w in _KEYWORDS if i not in OFFICE_EXACT.values()]
        intent = _keyword_intent(_AS_OF_NOW.sub("", folded), keywords)
        if intent is None and any(w in folded for i, ws in _KEYWORDS if i == Intent.PENDING for w in ws):
            intent = Intent.MISSING  # "还有什么没交": their own unit's missing items
        return Command(intent=intent or Intent.UNKNOWN)
    return Command(intent=_keyword_intent(_AS_OF_NOW.sub("", folded)) or Intent.UNKNOWN)


NEAR = 0.7  # shared characters (share of the command's) plus edit similarity: a one-character typo scores 1


def suggest(text: str, *, office: bool = False, limit: int = 3) -> list[str]:
    """The commands nearest to what was typed, by the characters they share with the command and
    its related words (a typo keeps most of them) and their edit similarity; best first."""
    folded = fold(text)
    commands = {**CONTACT_COMMANDS, **(OFFICE_COMMANDS if office else {})}
    scored: list[tuple[float, str]] = []
    for command, words in commands.items():
        best = 0.0
        for word in words:
            shared = len(set(word) & set(folded)) / len(set(word))
            similar = difflib.SequenceMatcher(None, folded, word).ratio()
            best = max(best, shared + similar)
        scored.append((best, command))
    scored.sort(key=lambda s: -s[0])
    near = [command for score, command in scored if score >= NEAR][:limit]
    return near or ["状态", "缺什么", "帮助"]


def _paper(raw: str, folded: str) -> Command:
    argument = re.sub(r"^\s*纸质(材料)?[\s:：]*", "", raw)
    argument = _PAPER_TAIL.sub("", argument).strip()
    received = any(word in folded for word in _RECEIVED)
    negated = any(word in folded for word in _NOT_RECEIVED)
    question = "?" in raw or _QUESTION.search(folded) is not None
    if received and not negated and not question:
        return Command(intent=Intent.PAPER, argument=argument)
    return Command(intent=Intent.PAPER_STATUS, argument=argument)


def _keyword_intent(folded: str, keywords: list[tuple[Intent, tuple[str, ...]]] | None = None) -> Intent | None:
    """The intent of the first keyword group (in `_KEYWORDS` order) that `folded` mentions."""
    for intent, words in _KEYWORDS if keywords is None else keywords:
        if any(word in folded for word in words):
            return intent
    return None
