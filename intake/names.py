"""Name keys: how a nominee's or project's name shows up in the paths and texts units send.

Units write “书香南关”, "书香南关", 书香南关全民阅读推广行动 or just 书香南关 for the same
project, and folder names are often the quoted part alone. Matching works on keys:
the name folded (NFKC, no quotes, no spaces) and, for projects, its distinctive part.
"""

from __future__ import annotations

import re
import unicodedata

_QUOTED = re.compile(r"[“\"「『《‘']([^”\"」』》’']{2,})[”\"」』》’']")
# Every middle-dot form units type in a name (RULES.md "Matching files to nominees"): · ・ • ‧ ･ ∙
MIDDLE_DOTS = "\u00b7\u30fb\u2022\u2027\uff65\u2219"
_PUNCT = re.compile(rf"[\s\u3000“”\"'‘’「」『』《》〈〉()（）\[\]【】{MIDDLE_DOTS}.,，。、:：;；!！?？_\-—~～]+")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_PERSON_NAME = re.compile(rf"[\u4e00-\u9fff]{{2,4}}|[\u4e00-\u9fff]{{1,6}}[{MIDDLE_DOTS}.][\u4e00-\u9fff]{{1,8}}")

# Words that make up the generic tail of project names; what is left is the distinctive part.
_GENERIC_TAILS = (
    "全民阅读推广行动",
    "全民阅读项目",
    "非遗文化传承学习项目",
    "文化传承学习项目",
    "学习项目",
    "品牌项目",
    "培训项目",
    "教育项目",
    "项目",
)


def fold(text: str) -> str:
    """Case- and width-folded text with quotes, brackets, spaces and punctuation removed."""
    return _PUNCT.sub("", unicodedata.normalize("NFKC", text)).lower()


def star_keys(name: str) -> list[str]:
    key = fold(name)
    return [key] if key else []


def project_keys(name: str) -> list[str]:
    """Keys of a project name, most specific first: the whole name, then its quoted part."""
    keys = [fold(name)]
    quoted = _QUOTED.search(unicodedata.normalize("NFKC", name)) or re.search(r"“([^”]{2,})”", name)
    if quoted:
        keys.append(fold(quoted.group(1)))
    else:
        whole = fold(name)
        for tail in _GENERIC_TAILS:
            if whole.endswith(tail) and len(whole) - len(tail) >= 2:
                keys.append(whole[: -len(tail)])
                break
    out: list[str] = []
    for key in keys:
        distinctive = len(_CJK.findall(key)) >= 2 or (key.isascii() and len(key) >= 4)
        if key and distinctive and key not in out:
            out.append(key)
    return out


def same_name(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and fold(a) == fold(b)  # type: ignore[arg-type]


def looks_like_person_name(text: str) -> bool:
    """2-4 Chinese characters (ethnic names with a middle dot allowed): a folder named after a person."""
    t = unicodedata.normalize("NFKC", text).strip()
    return bool(_PERSON_NAME.fullmatch(t))
