"""Which unit a package comes from (DESIGN.md, `nomdesk check`'s `unit`).

The order of evidence: an explicit name (--unit, or the office's confirmation), the
sender's registered address, the "推荐单位" line of a registration table or form,
then the mail's subject, body and archive names. Short forms (延边州) resolve to the
config's full name.
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel

from config.campaign import Campaign, UnitKind
from intake.models import Submission


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


def _texts_from_mail(submissions: Iterable[Submission]) -> list[str]:
    texts: list[str] = []
    for sub in submissions:
        texts += [t for t in (sub.subject, sub.body_text[:2000], sub.sender_name) if t]
        texts += [f.path for f in sub.files]
        texts.append(sub.source)
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
    for how, texts in (("table", table_texts), ("text", _texts_from_mail(reversed(submissions)))):
        for text in texts:
            unit = campaign.unit_named(text)
            if unit:
                return UnitResolution(name=unit.name, kind=unit.kind, known=True, how=how)

    # A unit the config does not know: keep the name the table gives, so the office sees it.
    if table_texts:
        return UnitResolution(name=table_texts[0].strip(), how="table")
    return UnitResolution(name=None)
