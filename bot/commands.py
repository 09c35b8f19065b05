"""What a WeCom message asks for, forgiving of wording and punctuation.

Pure: text in, a `Command` out. Who may ask what is decided in bot/answers.py.
"""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum

from pydantic import BaseModel

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
    UNKNOWN = "unknown"


CONFIRM_WITHDRAW = "确认撤回"  # the only reply that carries out a withdrawal asked for in WeCom
NAME_SEPARATOR = "、"  # between the names of a WITHDRAW command's argument


class Command(BaseModel):
    intent: Intent
    argument: str = ""


_PUNCT = re.compile(r"[\s\u3000,，.。!！?？:：;；、~～\"'“”‘’()（）\[\]【】<>《》]+")

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

# Checked in order; the first whose keyword the text contains wins (longer phrases first).
_KEYWORDS: list[tuple[Intent, tuple[str, ...]]] = [
    (Intent.PENDING, ("未交", "没交", "未报", "没报", "未完成", "催交")),
    (Intent.SUMMARY, ("汇总", "总体", "全省", "概况", "总览")),
    (Intent.MISSING, ("缺什么", "缺少", "还缺", "缺", "问题", "差什么", "还差", "哪些不合格", "错误", "不合格")),
    (Intent.CHECKLIST, ("清单", "要求", "需要哪些", "需要什么", "报什么", "材料要求")),
    (Intent.DEADLINE, ("截止", "截至", "期限", "什么时候", "最后一天", "deadline")),
    (Intent.STATUS, ("状态", "进度", "情况", "怎么样", "审核", "结果", "status")),
    (Intent.HELP, ("帮助", "help", "菜单", "怎么用", "功能", "你好", "您好", "hi", "hello")),
]

MENU_KEYS = {
    "status": Intent.STATUS,
    "missing": Intent.MISSING,
    "checklist": Intent.CHECKLIST,
    "deadline": Intent.DEADLINE,
    "help": Intent.HELP,
    "summary": Intent.SUMMARY,
    "pending": Intent.PENDING,
}


def normalise(text: str) -> str:
    return _PUNCT.sub("", unicodedata.normalize("NFKC", text or "")).lower()


def parse(text: str) -> Command:
    folded = normalise(text)
    if not folded or folded in {"?", "h"}:
        return Command(intent=Intent.HELP)
    raw = unicodedata.normalize("NFKC", text).strip()
    if folded == CONFIRM_WITHDRAW:
        return Command(intent=Intent.WITHDRAW_CONFIRM)
    if "撤回" in folded:
        # "撤回 张三、李四" -> the names; any other mention ("怎么撤回") asks how, with no name.
        return Command(intent=Intent.WITHDRAW, argument=NAME_SEPARATOR.join(line_names(raw)))
    if folded.startswith("纸质"):
        return _paper(raw, folded)
    if folded.startswith("单位"):
        argument = re.sub(r"^\s*单位[\s:：]*", "", raw).strip()
        # "单位状态", "单位的进度": a contact asking about their own unit, not "单位 <name>".
        rest = normalise(argument).removeprefix("的")
        if not any(rest.startswith(word) for _, words in _KEYWORDS for word in words):
            return Command(intent=Intent.UNIT, argument=argument)
    return Command(intent=_keyword_intent(_AS_OF_NOW.sub("", folded)) or Intent.UNKNOWN)


def _paper(raw: str, folded: str) -> Command:
    argument = re.sub(r"^\s*纸质(材料)?[\s:：]*", "", raw)
    argument = _PAPER_TAIL.sub("", argument).strip()
    received = any(word in folded for word in _RECEIVED)
    negated = any(word in folded for word in _NOT_RECEIVED)
    question = "?" in raw or _QUESTION.search(folded) is not None
    if received and not negated and not question:
        return Command(intent=Intent.PAPER, argument=argument)
    return Command(intent=Intent.PAPER_STATUS, argument=argument)


def _keyword_intent(folded: str) -> Intent | None:
    """The intent of the first keyword group (in `_KEYWORDS` order) that `folded` mentions."""
    for intent, words in _KEYWORDS:
        if any(word in folded for word in words):
            return intent
    return None
