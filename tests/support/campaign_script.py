"""A scripted campaign: units, contacts and submissions at given times, kept in a real store.

Submissions go into storage the way the desk's pipeline leaves them (a raw message, a
submission, an evaluation by the real rules over the unit's merged dossier), without
reading mail: the reminder and digest jobs only read what storage holds, so a whole
campaign of many units runs in seconds. The script is the ground truth tests compare with.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from config.campaign import Campaign, Contact, Unit
from intake.models import Dossier, SubmissionMeta
from storage.repo import Store
from storage.tables import RawState
from tests.support.dossiers import city_dossier
from validators import run_rules
from validators.base import Finding

Breakage = Callable[[Dossier], None]


def missing_form(index: int = 0) -> Breakage:
    def apply(d: Dossier) -> None:
        d.stars[index].form = None

    return apply


def too_few_photos(index: int = 0) -> Breakage:
    def apply(d: Dossier) -> None:
        d.stars[index].photos = d.stars[index].photos[:1]

    return apply


def no_project_video(index: int = 0) -> Breakage:
    def apply(d: Dossier) -> None:
        d.projects[index].videos = []

    return apply


def contact_email(i: int) -> str:
    return f"contact{i}@unit{i}.example.cn"


def contact_wecom(i: int) -> str:
    return f"unit{i}-clerk"


def scripted_campaign(base: Campaign, units: int, *, unreachable: Iterable[int] = ()) -> Campaign:
    """The first `units` units of the config, each with one contact (an address and a WeCom id);
    the `unreachable` ones' contact has a phone number only, so no reminder can reach them."""
    no_channel = set(unreachable)
    chosen = [
        Unit(
            name=u.name,
            kind=u.kind,
            aliases=list(u.aliases),
            contacts=[
                Contact(name=f"联系人{i}", phone="0431-8000000")
                if i in no_channel
                else Contact(name=f"联系人{i}", emails=[contact_email(i)], wecom_user=contact_wecom(i))
            ],
        )
        for i, u in enumerate(base.units[:units])
    ]
    return base.model_copy(update={"units": chosen})


@dataclass
class Sent:
    """What a unit sent at a time, and what the rules found in its merged dossier then."""

    unit: str
    at: dt.datetime
    findings: list[Finding]
    dossier: Dossier


@dataclass
class Script:
    campaign: Campaign
    history: list[Sent] = field(default_factory=list)

    def submit(
        self,
        store: Store,
        unit: str,
        at: dt.datetime,
        *,
        breakages: list[Breakage] = (),  # type: ignore[assignment]
        exemplars: bool = False,
        stars: int | None = None,
    ) -> Sent:
        """One more mail from `unit` at `at`: its dossier is now a complete city dossier with `breakages`."""
        raw, _ = store.raw.put(
            f"Message-ID: <{uuid.uuid4().hex}@x>\r\nSubject: s\r\n\r\n{unit}".encode(),
            source="cli",
            received_at=at,
        )
        store.submissions.add(raw.id, unit_name=unit, arrived_at=at, unit_confirmed=True, summary={})
        store.raw.mark(raw.id, RawState.DONE)
        earlier = [s for s in self.history if s.unit == unit]
        dossier = city_dossier(self.campaign, stars, exemplar_star=exemplars, exemplar_project=exemplars)
        dossier.unit = unit
        dossier.sender_registered = True
        dossier.submissions = [
            SubmissionMeta(index=i, source=f"raw:{i}", arrived_at=t)
            for i, t in enumerate([*(s.at for s in earlier), at])
        ]
        dossier.paper_received = store.state.paper_received(unit)
        for breakage in breakages:
            breakage(dossier)
        findings = run_rules(dossier, self.campaign)
        store.evaluations.save(unit, dossier, findings)
        sent = Sent(unit, at, findings, dossier)
        self.history.append(sent)
        return sent

    def arrive(self, store: Store, unit: str, at: dt.datetime) -> None:
        """A mail from `unit` at `at` that the desk has stored but not yet checked (no evaluation)."""
        raw, _ = store.raw.put(
            f"Message-ID: <{uuid.uuid4().hex}@x>\r\nSubject: s\r\n\r\n{unit}".encode(), source="cli", received_at=at
        )
        store.submissions.add(raw.id, unit_name=unit, arrived_at=at, unit_confirmed=True, summary={})

    def state_at(self, unit: str, moment: dt.datetime) -> Sent | None:
        """The unit's last submission at or before `moment` (None: nothing sent yet)."""
        before = [s for s in self.history if s.unit == unit and s.at <= moment]
        return before[-1] if before else None
