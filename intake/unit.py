"""Which unit a package comes from (DESIGN.md, `nomdesk check`'s `unit`).

The order of evidence: an explicit name (--unit, or the office's confirmation), the
sender's registered address, the "推荐单位" line of a registration table or form,
then the mail's subject, body and archive names. Short forms (延边州) resolve to the
config's full name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from pydantic import BaseModel

from config.campaign import Campaign, Unit, UnitKind
from intake.models import Submission

# Where a reply or forward quotes an earlier mail (QQ, 163/126, Outlook, Foxmail, Apple Mail):
# a unit named below it is the quoted mail's (often the notice itself, which names every unit).
_QUOTE_START = re.compile(
    r"^\s*(?:-{2,}\s*(?:原始邮件|Original Message|转发邮件|Forwarded message)\s*-{2,}"
    r"|(?:发件人|From)\s*[:：].*"
    r"|(?:在|On) .{4,80}(?:写道|wrote)\s*[:：]"
    r"|>.*)\s*$",
    re.MULTILINE | re.IGNORECASE,
)


class UnitResolution(BaseModel):
    name: str | None
    kind: UnitKind = UnitKind.OTHER
    known: bool = False  # the unit is in the campaign config
    how: str = "none"  # "explicit", "sender", "table", "text", "none"
    sender_registered: bool | None = None


def _texts_from_tables(submissions: Iterable[Submission]) -> list[str]:
    texts: list[str] = []
    for sub in submissions:
        texts += [r.unit_line for r in sub.registers if r.unit_line]
        texts += [f.fields.unit_line for f in sub.star_forms if f.fields.unit_line]
        texts += [f.fields.unit_line for f in sub.project_forms if f.fields.unit_line]
    return texts


def own_words(body: str) -> str:
    """The body without what it quotes: everything from the first quote marker on."""
    found = _QUOTE_START.search(body)
    return body[: found.start()] if found else body


def _first_unit(text: str, campaign: Campaign) -> Unit | None:
    """The unit named first in a free text (the longest name where several start there): a body
    that thanks the office and mentions other units names its own unit first, in the signature."""
    hits: list[tuple[int, int, Unit]] = []
    for unit in campaign.units:
        for candidate in (unit.name, *unit.aliases):
            position = text.find(candidate) if candidate else -1
            if position >= 0:
                hits.append((position, -len(candidate), unit))
    return min(hits, key=lambda hit: hit[:2])[2] if hits else None


def _texts_from_mail(submissions: Iterable[Submission]) -> list[tuple[str, bool]]:
    """(text, is_body): the subject, body, sender name and file paths, newest mail first."""
    texts: list[tuple[str, bool]] = []
    for sub in submissions:
        texts += [(t, False) for t in (sub.subject,) if t]
        body = own_words(sub.body_text[:2000])
        if body:
            texts.append((body, True))
        texts += [(t, False) for t in (sub.sender_name, *(f.path for f in sub.files), sub.source) if t]
    return texts


def resolve_unit(submissions: list[Submission], campaign: Campaign, explicit: str | None = None) -> UnitResolution:
    if explicit:
        unit = campaign.unit_by_exact_name(explicit) or campaign.unit_named(explicit)
        if unit:
            return UnitResolution(name=unit.name, kind=unit.kind, known=True, how="explicit")
        return UnitResolution(name=explicit.strip(), how="explicit")

    for sub in reversed(submissions):
        if sub.sender:
            unit = campaign.unit_of_address(sub.sender)
            if unit:
                return UnitResolution(name=unit.name, kind=unit.kind, known=True, how="sender")

    table_texts = _texts_from_tables(reversed(submissions))
    for text in table_texts:
        unit = campaign.unit_named(text)
        if unit:
            return UnitResolution(name=unit.name, kind=unit.kind, known=True, how="table")
    for text, is_body in _texts_from_mail(reversed(submissions)):
        unit = _first_unit(text, campaign) if is_body else campaign.unit_named(text)
        if unit:
            return UnitResolution(name=unit.name, kind=unit.kind, known=True, how="text")

    # A unit the config does not know: keep the name the table gives, so the office sees it.
    if table_texts:
        return UnitResolution(name=table_texts[0].strip(), how="table")
    return UnitResolution(name=None)
