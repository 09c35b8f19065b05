"""Explicit withdrawal in a unit's mail: "撤回 张三" in the subject or the first lines of the body.

RULES.md "Resubmissions": a nominee leaves the dossier only when the unit says so. A wrong hit
takes away someone the unit still nominates, so the reading is narrow on purpose:
- the verb opens the subject (after "Re:" and a unit name) or one of the first lines the
  sender wrote (what a reply or forward quotes is cut off first: the notice, our receipts and
  the REGISTER_OMITS hint all mention "撤回");
- only a few openings may stand before it ("我单位申请撤回…"); "不撤回", "如需撤回", "已撤回"
  and questions ("撤回张三可以吗？") say nothing;
- what follows must look like names, not prose or a placeholder ("撤回 姓名").
A name that is no nominee does no harm: the merge reports it (WITHDRAW_UNKNOWN).

Also who a name means in a dossier (the desk's office action and the WeCom bot ask the same), and
the headers of the records the desk writes for a withdrawal or a restoration (`take_actions`):
only such a record may restore, and headers a unit's own mail carries are never looked at.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from email.message import Message

from intake.models import NOMINEE_KIND_ZH, Dossier, Submission, Withdrawn
from intake.names import fold, looks_like_person_name, name_key, project_keys, same_name
from intake.removals import read_remove_headers
from intake.unit import own_words

# An action the desk itself records (the office's or a WeCom contact's withdrawal, the office's
# restoration) is a raw message whose headers say what: read here, written by nomdesk.accept.
ACTION_HEADER = "X-Nomdesk-Action"  # "withdraw" or "restore"
NOMINEE_HEADER = "X-Nomdesk-Nominee"  # one header per nominee, as the dossier spells the name
ACTOR_HEADER = "X-Nomdesk-Actor"  # "office:<username>", "wecom:<userid>" or "link:<contact id>"
LINK_PREFIX = "link:"  # a unit contact on her own page (nomdesk.unit_actions): the unit's own act
WITHDRAW, RESTORE = "withdraw", "restore"
VERB_ZH = {WITHDRAW: "撤回", RESTORE: "恢复"}
RESTORE_OFFICE_ONLY = "恢复已撤回的推荐对象只能由省级办公室在工作台或命令行操作"
RESTORE_OWN_ONLY = "{name} 是由省级办公室撤回的，本单位不能在材料页面恢复；如需恢复请联系省级办公室"

BODY_LINES = 5  # the sender's first non-empty lines that may carry the request
MAX_NAME_CHARS = 40

_REPLY_PREFIX = re.compile(r"^\s*(?:(?:re|fw|fwd|aw|回复|答复|转发)\s*[:：]\s*)+", re.IGNORECASE)
# What may open the line before the verb: "关于", "我单位", "经研究", "申请" ... and nothing else.
_OPENING = (
    r"(?:关于)?"
    r"(?:(?:我单位|本单位|我们单位|我们|我市|我县|我区|我校|我局|经研究决定|经研究|经核实|现|特|今)[，,\s]*)?"
    r"(?:(?:申请|请求|要求|决定|需要|需|拟|请|特此)\s*)?"
)
_VERB = re.compile(rf"^{_OPENING}撤回(?P<rest>.*)$")
_NUMBERING = re.compile(r"^\s*(?:\d{1,2}\s*[.、)）]|[（(]?[一二三四五六七八九十]{1,2}[、)）])?\s*")
# Where a unit name or a tag ends in a subject ("长白山管委会-撤回张三", "【长白山】撤回张三").
_SUBJECT_BREAK = re.compile(r"[\s\-—_｜|】\]》>:：]+")
_NEGATED = re.compile(r"(?:不|勿|别|无需|无须|没有|未|暂缓)$")
_QUESTION = re.compile(r"[?？]|吗|么|是否|能否|可否|可以不|如何|怎么|怎样")
_SENTENCE_END = re.compile(r"[。！!；;]")
_LIST_SEPARATOR = re.compile(r"[、,，/／]")
# Words before the names: "撤回推荐对象：", "撤回以下人员：", "撤回百姓学习之星张三".
_LEADING = re.compile(
    r"^(?:对|以下|下列|如下)?"
    r"(?:(?:我单位|本单位|我们|我市|我州|我县|我区|我校|我局)?(?:推荐|报送|申报)的)?"
    r"(?:(?:终身学习)?品牌项目|百姓学习之星|学习之星|推荐对象|推荐人选|推荐人员|推荐项目|人员|对象|项目)?"
    r"\s*[:：]?\s*"
)
# Words after a name that are no part of it: "张三的推荐材料", "张三同志", "xx项目的申报".
_TRAILING = re.compile(
    r"(?:同志|先生|女士|老师)?的?"
    r"(?:(?:全部|所有)?(?:推荐|申报|报送|参评)?(?:资格|材料|名额|申请|事宜|说明|对象|人选)?)$"
)
# A reason in brackets after a name: "张三（个人原因）".
_REASON = re.compile(r"\s*[（(][^（）()]*[)）]$")
# A greeting opening the request's line: "吴老师您好！现申请撤回…".
_GREETING = re.compile(r"^[^，,。！!：:]{0,10}?(?:您好|你好)[！!，,：:。\s]*")
# Words standing apart after a name that are no name: "撤回 书香南关 项目".
_GENERIC_WORDS = frozenset(("项目", "同志", "老师", "人员", "材料", "推荐"))
_BOTH = re.compile(r"^(?P<a>.+?)(?:和|及|与|以及)(?P<b>.+)$")
_PLACEHOLDERS = frozenset(
    fold(p)
    for p in ("姓名", "名字", "名称", "项目名", "项目名称", "姓名/项目名", "某某", "某某某", "xx", "xxx", "××", "×××")
)
# A piece holding one of these is prose about mail or files, not a nominee's name.
_NOT_A_NAME = (
    "邮件",
    "附件",
    "文件",
    "照片",
    "视频",
    "上一",
    "上次",
    "之前",
    "刚才",
    "此前",
    "本次",
    "以上",
    "申请",
    "原因",
    "谢谢",
    "感谢",
    "麻烦",
    "辛苦",
    "说明",
    "知悉",
    "此致",
    "敬礼",
    "推荐表",
    "登记表",
    "附表",
)
_PROJECT_MARKS = re.compile(
    r"[“”\"「」『』《》]|项目|行动|计划|工程|课堂|学堂|讲堂|书院|书屋|夜校|大学|学院|品牌|驿站|基地"
)


def withdrawal_names(subject: str | None, body: str) -> list[str]:
    """The names a mail asks to withdraw, from its subject and the first lines its sender wrote."""
    names = subject_names(subject or "")
    for line in first_lines(body):
        names += line_names(line)
    return _unique(names)


def subject_names(subject: str) -> list[str]:
    """A subject names a withdrawal at its start or after a unit name or tag: "【长白山】撤回张三"."""
    text = _REPLY_PREFIX.sub("", unicodedata.normalize("NFKC", subject)).strip()
    starts = [0, *(m.end() for m in _SUBJECT_BREAK.finditer(text))]
    for start in starts:
        if _NEGATED.search(_SUBJECT_BREAK.sub("", text[:start])):
            continue  # "暂不 撤回 张三"
        found = line_names(text[start:])
        if found:
            return found
    return []


def first_lines(body: str, count: int = BODY_LINES) -> list[str]:
    """The first non-empty lines the sender wrote themselves (quoted or forwarded text cut off)."""
    lines = [line.strip() for line in own_words(body[:4000]).splitlines()]
    return [line for line in lines if line][:count]


def line_names(line: str) -> list[str]:
    """The names one line asks to withdraw when it opens with the request ("撤回：张三、李四"), else []."""
    text = _NUMBERING.sub("", unicodedata.normalize("NFKC", line), count=1).strip()
    found = _VERB.match(_GREETING.sub("", text, count=1))
    if found is None:
        return []
    rest = found.group("rest")
    if _QUESTION.search(rest):
        return []
    rest = _SENTENCE_END.split(rest, maxsplit=1)[0]
    rest = _LEADING.sub("", rest.strip(), count=1)
    names: list[str] = []
    for index, piece in enumerate(p.strip() for p in _LIST_SEPARATOR.split(rest)):
        got = _piece_names(piece)
        if not got:
            if index == 0:
                return []  # "撤回上一封邮件": what follows the verb is no name
            break  # "撤回张三，谢谢": the list has ended
        names += got
    return _unique(names)


def _piece_names(piece: str) -> list[str]:
    """The name(s) in one list item: "张三的推荐材料" -> [张三], "张三 李四" / "张三和李四" -> both."""
    name = _clean(piece)
    if not name:
        return []
    parts = name.split()
    if len(parts) > 1 and all(looks_like_person_name(p) and p not in _GENERIC_WORDS for p in parts):
        return parts
    both = _BOTH.match(name)
    if both and all(looks_like_person_name(_clean(both.group(g))) for g in ("a", "b")):
        return [_clean(both.group("a")), _clean(both.group("b"))]
    return [name] if _plausible(name) else []


def _clean(piece: str) -> str:
    name = _REASON.sub("", _LEADING.sub("", piece.strip(), count=1)).strip()
    previous = None
    while name and name != previous:
        previous = name
        name = _TRAILING.sub("", name).strip()
    return name.strip(" \t:：-—")


def _plausible(name: str) -> bool:
    """A person's name, a project's name (or its distinctive part), never prose or a placeholder."""
    key = fold(name)
    if len(key) < 2 or len(name) > MAX_NAME_CHARS or key in _PLACEHOLDERS or name.startswith(("的", "了", "一下")):
        return False
    if any(word in name for word in _NOT_A_NAME):
        return False
    if looks_like_person_name(name) or _PROJECT_MARKS.search(name):
        return True
    return len(key) <= 12  # a short project name: "书香南关", "银龄课堂"


def _unique(names: list[str]) -> list[str]:
    seen: set[str] = set()
    out: list[str] = []
    for name in names:
        if name_key(name) not in seen:
            seen.add(name_key(name))
            out.append(name)
    return out


# -- who a name means in a dossier (the desk's office action and the WeCom bot ask the same) --------


def joined_names(names: list[str], known: Callable[[str], bool]) -> list[str]:
    """The names read from a request, put back together where two only together name a nominee:
    spaces stand for the dot ("撤回 阿依古丽 买买提" is 阿依古丽·买买提), where "撤回 张三 李四" is two
    people. `known`: whether a name means one of the unit's nominees."""
    out: list[str] = []
    i = 0
    while i < len(names):
        pair = f"{names[i]}·{names[i + 1]}" if i + 1 < len(names) else None
        if pair and not known(names[i]) and not known(names[i + 1]) and known(pair):
            out.append(pair)
            i += 2
        else:
            out.append(names[i])
            i += 1
    return out


def find_nominee(dossier: Dossier, name: str) -> tuple[str, str] | None:
    """(kind, name as the dossier spells it) of the unit's current star or project that `name` means:
    the same name, or for a project its distinctive part ("书香南关"), as the merge matches names."""
    key = name_key(name)
    if not key:
        return None
    for star in dossier.stars:
        if same_name(star.name, name):
            return "star", star.name
    for project in dossier.projects:
        if same_name(project.name, name) or key in project_keys(project.name):
            return "project", project.name
    return None


def find_withdrawn(dossier: Dossier, name: str) -> Withdrawn | None:
    """The withdrawn nominee that `name` means, matched as `find_nominee` matches."""
    key = name_key(name)
    for gone in dossier.withdrawn if key else []:
        if same_name(gone.name, name) or (gone.kind == "project" and key in project_keys(gone.name)):
            return gone
    return None


def roster_zh(dossier: Dossier) -> str:
    """The unit's current nominees in one line, for a refusal that says what can be named."""
    parts = []
    if dossier.stars:
        parts.append(f"{NOMINEE_KIND_ZH['star']} " + "、".join(s.name for s in dossier.stars))
    if dossier.projects:
        parts.append(f"{NOMINEE_KIND_ZH['project']} " + "、".join(p.name for p in dossier.projects))
    return "；".join(parts) if parts else "（暂无）"


def withdrawn_by_zh(by: str) -> str:
    """Who withdrew, for a clerk: "本单位来信", "办公室 wu", "企业微信 dinglijun"."""
    if by.startswith("office:"):
        return f"办公室 {by.removeprefix('office:')}"
    if by.startswith("wecom:"):
        return f"企业微信 {by.removeprefix('wecom:')}"
    if by.startswith(LINK_PREFIX):
        return "本单位材料页面"
    return "本单位来信"


def withdrawn_line(dossier: Dossier) -> str | None:
    """ "已撤回：百姓学习之星 张三（办公室 wu）；…", or None when nobody is withdrawn."""
    if not dossier.withdrawn:
        return None
    items = [f"{NOMINEE_KIND_ZH.get(w.kind, '')} {w.name}（{withdrawn_by_zh(w.by)}）" for w in dossier.withdrawn]
    return "已撤回：" + "；".join(items) + "。材料仍保存在系统中"


def withdraw_target(unit: str, dossier: Dossier, name: str) -> tuple[str, str]:
    """(kind, name) of the current nominee `name` means, or a ValueError saying in Chinese why not."""
    found = find_nominee(dossier, name)
    if found is not None:
        return found
    gone = find_withdrawn(dossier, name)
    if gone is not None:
        raise ValueError(f"{unit} 的{NOMINEE_KIND_ZH[gone.kind]} {gone.name} 已撤回，无需重复操作")
    raise ValueError(f"{unit} 当前的推荐对象中没有“{name}”。现有推荐对象：{roster_zh(dossier)}")


def restore_target(unit: str, dossier: Dossier, name: str) -> tuple[str, str]:
    """(kind, name) of the withdrawn nominee `name` means, or a ValueError saying in Chinese why not."""
    gone = find_withdrawn(dossier, name)
    if gone is not None:
        return gone.kind, gone.name
    current = find_nominee(dossier, name)
    if current is not None:
        raise ValueError(f"{unit} 的{NOMINEE_KIND_ZH[current[0]]} {current[1]} 没有撤回，仍在推荐名单中，无需恢复")
    withdrawn = "、".join(w.name for w in dossier.withdrawn) or "（无）"
    raise ValueError(f"{unit} 没有已撤回的“{name}”。已撤回的推荐对象：{withdrawn}")


# -- who may withdraw or restore through a record ----------------------------------------------


def actor_label(actor: str) -> str:
    """Who acted, as the audit log and `Withdrawn.by` name them: a bare username is an office user;
    "link:<contact id>" is a unit contact on her own page, never the office."""
    actor = actor.strip()
    return actor if actor.startswith(("office:", "wecom:", LINK_PREFIX)) else f"office:{actor or 'unknown'}"


def is_office_actor(actor: str) -> bool:
    return actor_label(actor).startswith("office:")


def is_link_actor(actor: str) -> bool:
    """A unit contact acting on her own page (`link:<contact id>`)."""
    return actor.strip().startswith(LINK_PREFIX)


def withdrawn_by_unit(gone: Withdrawn) -> bool:
    """Whether the unit itself withdrew the nominee (its mail, WeCom or its page), not the office."""
    return not gone.by.startswith("office:")


def take_actions(submission: Submission, headers: Message | None, *, words_count: bool = True) -> None:
    """Who may withdraw or restore through a record: `headers` are those of a record the desk wrote
    itself (an office record), None for everything else. A unit's own mail withdraws by its words
    (read at intake, `words_count`) and never restores; a WeCom file carries files only (withdrawing
    in WeCom asks to confirm and then comes as an office record). Taking a file out of the dossier
    (intake.removals) is a desk record's only, too."""
    submission.remove = read_remove_headers(headers) if headers is not None else []
    if headers is None:
        if not words_count:
            submission.withdraw = []
        submission.restore = []
        submission.actor = None
        return
    action = str(headers.get(ACTION_HEADER) or "").strip().lower()
    names = [" ".join(str(v).split()) for v in headers.get_all(NOMINEE_HEADER) or []]
    names = [n for n in names if n]
    submission.withdraw = names if action == WITHDRAW else []
    submission.restore = names if action == RESTORE else []
    actor = str(headers.get(ACTOR_HEADER) or "").strip()
    submission.actor = actor_label(actor) if actor else None
