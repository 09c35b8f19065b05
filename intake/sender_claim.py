"""What an unregistered sender says of herself: her unit, her name and her phone.

The desk asks a sender it does not know for "推荐单位全称、联系人姓名和联系电话"; clerks answer in
every shape ("单位：梅河口市教育局 联系人：王丽 电话：139…", a subject "Re: 梅河口市教育局 王丽", or a
signature "梅河口市教育局　王丽 / 电话：0435-1234567"). Only her own words count: a reply quotes the
desk's letter or the notice, which name every unit, so what follows a quote marker is cut
(intake.unit.own_words). The unit is certain only when exactly one unit is named; the office
still confirms it (the claim is a proposal, never a registration).
"""

from __future__ import annotations

import re
import unicodedata

from pydantic import BaseModel

from config.campaign import Campaign, Unit
from intake.models import Submission
from intake.names import looks_like_person_name
from intake.unit import own_words

BODY_CHARS = 2000  # a self-introduction is at the top; a long body is a package letter, not a claim

_REPLY_PREFIX = re.compile(r"^\s*(?:(?:re|fw|fwd|答复|回复|转发)\s*[:：]\s*)+", re.IGNORECASE)
# Lines that name places, not the sender's unit (an address in a signature names a city).
_PLACE = re.compile(r"(?:通讯|邮寄|联系|单位)?地址[^\n]*")
_MOBILE = r"(?<!\d)1[3-9]\d(?:[ -]?\d{4}){2}(?!\d)"
_LANDLINE = r"(?<!\d)0\d{2,3}-?\d{7,8}(?!\d)"
_PHONE = re.compile(rf"{_MOBILE}|{_LANDLINE}")
# "联系人：王丽", "联系人姓名 王丽", "经办人:王丽": a label, then ":" or a space, then the name.
_NAME_LABEL = re.compile(r"(?:联系人姓名|联系人|经办人|姓名)(?:\s*:\s*|\s+)([\u4e00-\u9fff·]{2,6})")
# Words that follow a name without a space ("王丽电话…") or that look like a name but are not one.
_NAME_STOPS = ("电话", "手机", "联系", "单位", "邮箱", "座机", "办公")
_NOT_NAMES = frozenset({"您好", "你好", "谢谢", "此致", "敬礼", "老师", "姓名", "手机号", "座机", "收到", "好的"})
# Words of a mail's business, never part of a person's name ("报送材料", "确认单位", "百姓学习之星").
_NOISE = re.compile(
    "材料|推荐|报送|申报|学习|项目|回复|回执|确认|补充|通知|附件|查收|征集|品牌|单位|全称|教育|联系|电话|办公|地址"
)
_TITLE_ENDINGS = ("老师", "主任", "科长", "处长", "局长", "校长", "院长", "女士", "先生", "同志", "领导")
_ORG_CHARS = re.compile(r"[局市州县区省校院会部科处厅]")
_LABELS = re.compile(
    r"(?:联系电话|办公电话|电话|手机号码|手机号|手机|座机|联系人姓名|联系人|经办人|姓名|tel|mobile)", re.I
)
_TOKEN_SPLIT = re.compile(r"[\s,，。;；:：、/|()（）\[\]【】<>《》\"'“”‘’-]+")


class SenderClaim(BaseModel):
    """The sender's own account of herself; `unit` is the config's full name."""

    unit: str | None = None
    certain: bool = False  # exactly one unit named, by its full name or a known short name
    name: str | None = None
    phone: str | None = None

    @property
    def usable(self) -> bool:
        """A claim the office can act on: one unit, and who she is (a name or a phone)."""
        return self.certain and self.unit is not None and bool(self.name or self.phone)


def _norm(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "")


def units_named(text: str, campaign: Campaign) -> list[Unit]:
    """The units a text names, in order of first mention. A name inside a longer one is the longer
    one's ("延边" in "延边大学", "梅河口" in "梅河口康美职业技术学院"), not a unit of its own."""
    spans: list[tuple[int, int, Unit]] = []
    for unit in campaign.units:
        for candidate in {_norm(c) for c in (unit.name, *unit.aliases) if c}:
            for found in re.finditer(re.escape(candidate), text):
                spans.append((found.start(), found.end(), unit))
    kept = [
        (start, end, unit)
        for start, end, unit in spans
        if not any(s <= start and end <= e and (e - s) > (end - start) for s, e, _ in spans)
    ]
    order: list[Unit] = []
    for _, _, unit in sorted(kept, key=lambda span: span[0]):
        if all(unit.name != seen.name for seen in order):
            order.append(unit)
    return order


def _without_units(text: str, units: list[Unit]) -> str:
    """The text with the names of `units` blanked, so a name glued to its unit stands alone."""
    for unit in units:
        for candidate in sorted({_norm(c) for c in (unit.name, *unit.aliases) if c}, key=len, reverse=True):
            text = text.replace(candidate, " ")
    return text


def _person(token: str) -> str | None:
    """`token` when it reads as a person's name (not a title, a greeting or an organisation)."""
    token = token.strip()
    for stop in _NAME_STOPS:
        cut = token.find(stop)
        if cut > 0:
            token = token[:cut]
    if token in _NOT_NAMES or token.endswith(_TITLE_ENDINGS) or _ORG_CHARS.search(token) or _NOISE.search(token):
        return None
    return token if looks_like_person_name(token) and 2 <= len(token) <= 4 else None


def _labelled_name(text: str) -> str | None:
    for found in _NAME_LABEL.finditer(text):
        name = _person(found.group(1))
        if name:
            return name
    return None


def _tokens_person(line: str) -> str | None:
    """The person's name among a line's words (the last one: a signature puts the unit first)."""
    names = [n for n in (_person(t) for t in _TOKEN_SPLIT.split(_LABELS.sub(" ", line))) if n]
    return names[-1] if names else None


def _signature_name(lines: list[str], units: list[Unit]) -> str | None:
    """The name on a phone's line ("王丽 13912345678"), else on the line just above it."""
    for index, line in enumerate(lines):
        if not _PHONE.search(line):
            continue
        name = _tokens_person(_without_units(_PHONE.sub(" ", line), units))
        previous = next((ln for ln in reversed(lines[:index]) if ln.strip()), "")
        name = name or _tokens_person(_without_units(previous, units))
        if name:
            return name
    return None


def _unit_line_name(lines: list[str], units: list[Unit]) -> str | None:
    """The name on a line that holds nothing but a unit and a person ("梅河口市教育局 王丽")."""
    for line in lines:
        rest = _without_units(line, units)
        if rest == line:
            continue
        words = [w for w in _TOKEN_SPLIT.split(rest) if w]
        if len(words) == 1 and _person(words[0]):
            return _person(words[0])
    return None


def read_claim(submission: Submission, campaign: Campaign) -> SenderClaim:
    """Her unit, name and phone as her own words give them (subject and unquoted body)."""
    subject = _REPLY_PREFIX.sub("", _norm(submission.subject or "")).strip()
    body = _norm(own_words(_norm(submission.body_text[:BODY_CHARS])))
    lines = [subject, *body.splitlines()]
    text = "\n".join(lines)
    units = units_named(_PLACE.sub(" ", text), campaign)
    phone = _PHONE.search(text)
    unplaced = [_PLACE.sub(" ", line) for line in lines]
    name = _labelled_name(text) or _signature_name(unplaced, units) or _unit_line_name(unplaced, units)
    return SenderClaim(
        unit=units[0].name if units else None,
        certain=len(units) == 1,
        name=name,
        phone=phone.group(0) if phone else None,
    )
