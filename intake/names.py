"""Name keys: how a nominee's or project's name shows up in the paths and texts units send.

Units write “书香南关”, "书香南关", 书香南关全民阅读推广行动 or just 书香南关 for the same
project, and folder names are often the quoted part alone. Matching works on keys:
the name folded (NFKC, no quotes, no spaces) and, for projects, its distinctive part.

`name_key` is THE name equivalence of RULES.md "Matching files to nominees": every reader,
matcher, duplicate check and lookup compares names through it (or `same_name`), so
阿依古丽·买买提 (GBK), 阿依古丽・买买提 (GB2312 decoding), 阿依古丽.买买提 and 阿依古丽 买买提 are one
person everywhere. `names_in` finds registered names in a path part at name boundaries:
a name is not matched inside a longer name (王丹 is not 王丹丹's).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

_QUOTED = re.compile(r"[“\"「『《‘']([^”\"」』》’']{2,})[”\"」』》’']")
# Every middle-dot form units type in a name (RULES.md "Matching files to nominees"): · ・ • ‧ ･ ∙
# and the look-alikes NFKC leaves apart: ⋅ (dot operator), ⸱ (word separator), · (Greek ano teleia
# folds to U+00B7 already). A full stop between two name parts is the dot too: `fold` drops every ".".
MIDDLE_DOTS = "\u00b7\u30fb\u2022\u2027\uff65\u2219\u22c5\u2e31"
# Whitespace of any width, with the zero-width spaces and joiners pasted from web pages.
_SPACE = "\\s\u3000\u200b-\u200d\u2060\ufeff"
_SPACES = re.compile(rf"[{_SPACE}]+")
_PUNCT = re.compile(rf"[{_SPACE}“”\"'‘’「」『』《》〈〉()（）\[\]【】{MIDDLE_DOTS}.,，。、:：;；!！?？_\-—~～]+")
# Han characters, the rare ones of names included (extension A, compatibility, extensions B-G).
_CJK = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
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
    key = name_key(name)
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


def name_key(name: str | None) -> str:
    """The one key two spellings of a name share (RULES.md "Matching files to nominees"): NFKC,
    no whitespace of any width, every middle-dot form and a full stop between name parts dropped.
    It also drops quotes, brackets and other punctuation, which no person's name holds, so project
    names compare the same way; "" for no name."""
    return fold(name) if name else ""


def same_name(a: str | None, b: str | None) -> bool:
    """The same person or project name however it was typed; never two different names."""
    key = name_key(a)
    return bool(key) and key == name_key(b)


def looks_like_person_name(text: str) -> bool:
    """2-4 Chinese characters (ethnic names with a middle dot allowed): a folder named after a person."""
    t = unicodedata.normalize("NFKC", text).strip()
    # Spaces of any width pad a short name ("王　丹") or stand for the dot ("阿依古丽 买买提").
    return any(_PERSON_NAME.fullmatch(v) for v in (t, _SPACES.sub("", t), _SPACES.sub("·", t)))


# -- a name inside a path part ------------------------------------------------------------------
# Words that may follow a name in a file or folder name ("王丹证件照", "王丹的照片"): glued to the
# name they end it. Only their effect on ONE glued character matters (see `_at_boundary`).
# fmt: off
_AFTER_NAME = (
    "证件照", "生活照", "工作照", "个人照", "正面照", "登记照", "寸照", "照片", "相片", "近照", "彩照",
    "头像", "合影", "合照", "照", "像", "图", "推荐", "附表", "事迹", "简介", "简历", "介绍", "材料",
    "资料", "视频", "宣传", "典型", "典范", "风采", "作品", "证明", "个人", "同志", "先生", "女士", "老师",
    "的", "和", "与", "及", "等", "工作", "学习", "申报", "登记", "获奖", "荣誉", "证书", "证件", "身份证",
    "一寸", "二寸", "免冠", "活动", "生活",
)
# fmt: on
# One-character words that, after one more glued character, are rather the end of a word: 王丹头像,
# 王丹美照 are 王丹's, where 王丹丹照片 is not.
_WEAK_AFTER = frozenset("照像图")
# Words that may come right before a name ("1号王丹", "附表1王丹"), for the same one-character test.
_BEFORE_NAME = ("号", "的", "表", "星", "和", "与", "及", "附件", "推荐", "材料")


def _is_cjk(ch: str) -> bool:
    return bool(_CJK.match(ch))


def _folded_marked(text: str) -> tuple[str, list[bool], list[bool]]:
    """`fold(text)` and, for every gap between its characters (len + 1 of them), whether something
    was removed there (a separator: "王丹_照片") and whether that was a name dot between two Chinese
    characters ("阿依古丽・买买提", "阿依古丽.买买提"), which joins name parts instead of separating."""
    chars: list[str] = []
    removed: list[str] = []
    pending = ""
    for ch in unicodedata.normalize("NFKC", text):
        if _PUNCT.fullmatch(ch):
            pending += ch
            continue
        lowered = ch.lower()
        for i, out in enumerate(lowered):
            chars.append(out)
            removed.append(pending if i == 0 else "")
        pending = ""
    removed.append(pending)
    folded = "".join(chars)
    breaks: list[bool] = []
    joins: list[bool] = []
    for i, gap in enumerate(removed):
        bare = _SPACES.sub("", gap)
        dot = bool(bare) and not bare.strip(MIDDLE_DOTS + ".")
        between = 0 < i < len(folded) and _is_cjk(folded[i - 1]) and _is_cjk(folded[i])
        joins.append(dot and between)
        # Spaces between Chinese characters pad a name ("王　丹") as often as they separate words.
        breaks.append(bool(gap) and not (between and (dot or not bare)))
    return folded, breaks, joins


def _glued_after(folded: str, breaks: list[bool], end: int) -> int:
    """How many Chinese characters (0, 1 or 2 = "two or more") are glued to a name ending at gap
    `end`, up to a separator, a non-Chinese character or a word of `_AFTER_NAME`."""
    count, i = 0, end
    while count < 2 and i < len(folded) and _is_cjk(folded[i]) and not (count and breaks[i]):
        word = next((w for w in _AFTER_NAME if folded.startswith(w, i)), None)
        if word is not None and not (count and word in _WEAK_AFTER):
            break
        count, i = count + 1, i + 1
    return count


def _glued_before(folded: str, breaks: list[bool], start: int) -> int:
    """`_glued_after` leftwards: the Chinese characters glued before a name starting at gap `start`."""
    count, i = 0, start
    while count < 2 and i > 0 and _is_cjk(folded[i - 1]) and not (count and breaks[i]):
        if any(folded.endswith(w, 0, i) for w in _BEFORE_NAME):
            break
        count, i = count + 1, i - 1
    return count


def _at_boundary(folded: str, breaks: list[bool], joins: list[bool], start: int, end: int) -> bool:
    """A name found at folded[start:end] stands alone: not continued by a name dot, and not glued to
    exactly one more Chinese character on either side, the mark of a longer name (王丹丹, 李王丹).
    Two or more glued characters are words (王丹讲课.jpg); a separator, digit or latin ends a name."""
    if joins[start] or joins[end]:
        return False
    right = 0 if breaks[end] else _glued_after(folded, breaks, end)
    left = 0 if breaks[start] else _glued_before(folded, breaks, start)
    return right != 1 and left != 1


def names_in(text: str, keys: Iterable[str]) -> list[str]:
    """The name keys of `keys` that `text` (one folder or file name, extension removed) holds at
    name boundaries, longest first. Where names overlap the longest wins: with 王丹 and 王丹丹
    both nominated, "王丹丹照片" names 王丹丹 only."""
    folded, breaks, joins = _folded_marked(text)
    found: list[tuple[int, int, str]] = []
    for key in dict.fromkeys(k for k in keys if k):
        start = folded.find(key)
        while start >= 0:
            end = start + len(key)
            if _at_boundary(folded, breaks, joins, start, end):
                found.append((start, end, key))
            start = folded.find(key, start + 1)
    found.sort(key=lambda f: f[1] - f[0], reverse=True)
    kept: list[tuple[int, int, str]] = []
    for start, end, key in found:
        if all(end <= s or start >= e for s, e, _ in kept):
            kept.append((start, end, key))
    return list(dict.fromkeys(key for _, _, key in kept))
