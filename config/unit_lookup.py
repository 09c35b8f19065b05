"""Which unit of the campaign a clerk means by what she typed: "吉林", "长白", "梅河口康美".

One place for the office's tools (the terminal's commands, later the dashboard and the bot): the
exact names first (full name, alias, the short name receipts use), then the name without its
common ending (市教育局, 职业技术学院 ...), then a unique beginning or part of a name. Two or more
units that fit are never guessed between: the clerk is shown them. Nothing fits: the nearest
names are suggested. Pure name matching over the campaign's units: no store, no network.
"""

from __future__ import annotations

import difflib
import unicodedata
from dataclasses import dataclass, field

from config.campaign import Campaign, Unit

# Endings a clerk leaves off when she names a unit; the longest that fits is taken off first.
NAME_ENDINGS = sorted(
    (
        "管委会教育科技局",
        "朝鲜族自治州教育局",
        "市教育局",
        "州教育局",
        "教育科技局",
        "教育局",
        "职业技术学院",
        "高等专科学校",
        "职业学院",
        "职业大学",
    ),
    key=len,
    reverse=True,
)
MIN_PARTIAL = 2  # characters: one character ("白", "长") is too little to pick a unit by part of its name
MAX_LISTED = 8  # candidates or suggestions a message names
SUGGEST_CUTOFF = 0.4  # difflib ratio below which a name is not offered as "did you mean"


def _clean(text: str) -> str:
    """Full-width letters and spaces as a clerk's input method types them, spaces dropped."""
    return "".join(unicodedata.normalize("NFKC", text or "").split())


def _split(name: str) -> tuple[str, str]:
    """A name as (stem, ending): ("吉林", "市教育局"); (name, "") when it has no common ending."""
    for ending in NAME_ENDINGS:
        if name.endswith(ending) and len(name) > len(ending):
            return name[: -len(ending)], ending
    return name, ""


def _same_stem(wanted: str, name: str) -> bool:
    """“延边州教育局” is the bureau, not 延边职业技术学院: a typed ending must be of the same kind
    (a bureau's or a school's) as the name's; a bare stem fits either."""
    (want_stem, want_end), (name_stem, name_end) = _split(wanted), _split(name)
    if want_stem != name_stem:
        return False
    return not want_end or ("教育" in want_end) == ("教育" in name_end)


def _names(unit: Unit) -> list[str]:
    return [unit.name, *unit.aliases, unit.short_name]


@dataclass
class UnitLookup:
    """What a typed unit name found: `unit` when exactly one fits; else `candidates` (several fit)
    or `suggestions` (none fits: the nearest names)."""

    text: str
    unit: Unit | None = None
    how: str = "none"  # "exact", "stem", "prefix", "part", "none"
    candidates: list[Unit] = field(default_factory=list)
    suggestions: list[Unit] = field(default_factory=list)
    within: Unit | None = None  # none fits, but the text contains this unit's name or alias

    @property
    def problem(self) -> str:
        """Why no unit was taken, in Chinese, with the names to type instead ("" when one was)."""
        if self.unit is not None:
            return ""
        if self.candidates:
            shown = "、".join(u.name for u in self.candidates[:MAX_LISTED])
            more = f" 等 {len(self.candidates)} 个" if len(self.candidates) > MAX_LISTED else ""
            return f"“{self.text}”可能是以下单位：{shown}{more}，请写得更完整些（如单位全称）"
        if self.within is not None:  # "长春市第一中学": a school of the city, or the city's bureau?
            return f"单位“{self.text}”不明确，是否指“{self.within.name}”？请填写单位全称"
        if self.suggestions:
            shown = "、".join(u.name for u in self.suggestions)
            return f"找不到单位：{self.text}。您是不是要找：{shown}？请填写单位全称或简称"
        return f"找不到单位：{self.text}（不在本次活动的单位名单中），请填写单位全称或简称"


def find_unit(campaign: Campaign, text: str) -> UnitLookup:
    """The unit `text` names, looser step by step; a step that fits several units stops there."""
    wanted = _clean(text)
    found = UnitLookup(text=wanted)
    if not wanted:
        return found
    exact = campaign.unit_called(wanted)
    if exact is not None:
        found.unit, found.how = exact, "exact"
        return found
    steps = (
        ("stem", lambda u: any(_same_stem(wanted, n) for n in (u.name, *u.aliases))),
        ("prefix", lambda u: len(wanted) >= MIN_PARTIAL and any(n.startswith(wanted) for n in _names(u))),
        ("part", lambda u: len(wanted) >= MIN_PARTIAL and any(wanted in n for n in _names(u))),
    )
    for how, fits in steps:
        matches = [u for u in campaign.units if fits(u)]
        if len(matches) == 1:
            found.unit, found.how = matches[0], how
            return found
        if matches:
            found.candidates = matches
            return found
    found.within = campaign.unit_named(wanted)
    found.suggestions = _nearest(campaign, wanted)
    return found


def _nearest(campaign: Campaign, wanted: str) -> list[Unit]:
    """The units whose names read most like `wanted` (a typo, a wrong character), best first."""
    by_name: dict[str, Unit] = {}
    for unit in campaign.units:
        for name in _names(unit):
            by_name.setdefault(name, unit)
    close = difflib.get_close_matches(wanted, list(by_name), n=MAX_LISTED, cutoff=SUGGEST_CUTOFF)
    unique: list[Unit] = []
    for unit in (by_name[name] for name in close):
        if unit not in unique:
            unique.append(unit)
    return unique[:3]
