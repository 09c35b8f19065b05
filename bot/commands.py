"""What a WeCom message asks for, forgiving of wording and punctuation.

Pure: text in, a `Command` out. Who may ask what is decided in bot/answers.py.
"""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum

from pydantic import BaseModel


class Intent(StrEnum):
    HELP = "help"
    STATUS = "status"
    MISSING = "missing"
    CHECKLIST = "checklist"
    DEADLINE = "deadline"
    SUMMARY = "summary"  # office: the campaign at a glance
    PENDING = "pending"  # office: units with nothing or with open errors
    UNIT = "unit"  # office: one unit's dossier
    PAPER = "paper"  # office: paper copies received
    UNKNOWN = "unknown"


class Command(BaseModel):
    intent: Intent
    argument: str = ""


_PUNCT = re.compile(r"[\s\u3000,，.。!！?？:：;；、~～\"'“”‘’()（）\[\]【】<>《》]+")

# Office commands that take an argument: recognised only at the start ("单位 延边州").
_PREFIXED: list[tuple[Intent, str]] = [(Intent.PAPER, "纸质"), (Intent.UNIT, "单位")]

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
    for intent, prefix in _PREFIXED:
        if folded.startswith(prefix):
            raw = unicodedata.normalize("NFKC", text).strip()
            argument = re.sub(r"^\s*(单位|纸质(材料)?)[\s:：]*", "", raw)
            argument = re.sub(r"[\s:：,，。]*(已收到?|收到了?|已到)[。!！]*\s*$", "", argument).strip()
            return Command(intent=intent, argument=argument)
    for intent, words in _KEYWORDS:
        if any(word in folded for word in words):
            return Command(intent=intent)
    return Command(intent=Intent.UNKNOWN)
