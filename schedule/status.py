"""Where each unit stands, read once from storage for the reminders, the digest and the roster."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum

from config.campaign import Campaign
from intake.models import Dossier
from storage.models import ContactView, WaitingMail, waiting_by_unit, waiting_note
from storage.repo import Store
from validators.base import Finding, Severity


class UnitState(StrEnum):
    NOTHING = "nothing"  # no submission yet
    INCOMPLETE = "incomplete"  # open errors
    COMPLETE = "complete"  # no error finding
    # A rule raised on the latest evaluation: no finding of it proves nothing, so the unit is neither
    # complete nor known to be incomplete until the office checks by hand or a later check finishes.
    CHECK_FAILED = "check_failed"


STATE_ZH = {
    UnitState.NOTHING: "未报送",
    UnitState.INCOMPLETE: "待修改",
    UnitState.COMPLETE: "材料齐全",
    UnitState.CHECK_FAILED: "检查未完成",
}
# Why a unit is not `reachable`, as the office reads it: it may have a contact, a name and a phone,
# but nothing a reminder can be sent to.
UNREACHABLE_ZH = "没有可用的邮箱或企业微信账号"


@dataclass
class UnitStatus:
    name: str
    kind: str
    known: bool
    contacts: list[ContactView] = field(default_factory=list)
    submissions: int = 0
    last_arrival: dt.datetime | None = None
    dossier: Dossier | None = None
    findings: list[Finding] = field(default_factory=list)
    paper_dates: list[dt.date] = field(default_factory=list)
    late: bool = False  # a submission arrived after the deadline
    # Mails in the 待确认 queue guessed to be this unit's: an unregistered sender's package is not
    # counted as submitted until the office assigns it, but the unit is not "silent" either.
    waiting: int = 0
    check_error: str | None = None  # the latest evaluation's rules that raised (masked)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == Severity.ERROR]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == Severity.WARNING]

    @property
    def state(self) -> UnitState:
        if not self.submissions or self.dossier is None:
            return UnitState.NOTHING
        if self.check_error:
            return UnitState.CHECK_FAILED
        return UnitState.INCOMPLETE if self.errors else UnitState.COMPLETE

    @property
    def complete(self) -> bool:
        return self.state == UnitState.COMPLETE

    @property
    def stars(self) -> int:
        return len(self.dossier.stars) if self.dossier else 0

    @property
    def projects(self) -> int:
        return len(self.dossier.projects) if self.dossier else 0

    @property
    def exemplars(self) -> list[str]:
        if self.dossier is None:
            return []
        return [s.name for s in self.dossier.stars if s.exemplar] + [
            p.name for p in self.dossier.projects if p.exemplar
        ]

    @property
    def emails(self) -> list[str]:
        return sorted({e for c in self.contacts for e in c.emails})

    @property
    def wecom_users(self) -> list[str]:
        return sorted({c.wecom_user for c in self.contacts if c.wecom_user})

    @property
    def reachable(self) -> bool:
        """A contact the desk can write to (an address or a WeCom id); a name and phone alone is none."""
        return bool(self.emails or self.wecom_users)

    @property
    def waiting_note(self) -> str:
        """ "有 N 封邮件待确认", shown beside the unit's state wherever it is listed ("" when none)."""
        return waiting_note(self.waiting)


# unit -> (evaluation version, its dossier, its findings): an evaluation never changes once saved.
EvaluationCache = dict[str, tuple[int, Dossier, list[Finding]]]


def collect_status(
    store: Store,
    campaign: Campaign,
    *,
    known_only: bool = True,
    cache: EvaluationCache | None = None,
    waiting: list[WaitingMail] | None = None,
    unit: str | None = None,
) -> list[UnitStatus]:
    """Every unit (config order), with its latest evaluation, contacts, paper receipts and the
    waiting mails guessed to be its own.

    With a `cache` kept between calls, a unit's dossier is read again only after a new evaluation.
    `waiting`: the 待确认 queue when the caller has just read it (else it is read here, once).
    `unit`: only that unit (one page's download need not read every unit's dossier)."""
    cache = {} if cache is None else cache
    guessed = store.submissions.waiting_by_unit() if waiting is None else waiting_by_unit(waiting)
    contacts: dict[str | None, list[ContactView]] = {}
    for contact in store.contacts.list():
        contacts.setdefault(contact.unit_name, []).append(contact)
    result = []
    for row in store.overview.units():
        if (known_only and not row.known) or (unit is not None and row.name != unit):
            continue
        status = UnitStatus(
            name=row.name,
            kind=str(row.kind),
            known=row.known,
            contacts=contacts.get(row.name, []),
            submissions=row.submissions,
            last_arrival=row.last_arrival,
            waiting=guessed.get(row.name, 0),
            check_error=row.check_error,
        )
        version = row.evaluated_version
        if version is not None:
            cached = cache.get(row.name)
            if cached is None or cached[0] < version:
                cached = _evaluation(store, row.name) or cached
                if cached is not None:
                    cache[row.name] = cached
            if cached is not None:
                _, status.dossier, status.findings = cached
        if row.paper_received:
            status.paper_dates = [p.received_on for p in store.state.paper_receipts(row.name)]
        if status.dossier is not None:
            end = campaign.deadline_end
            status.late = any(s.arrived_at is not None and s.arrived_at >= end for s in status.dossier.submissions)
        result.append(status)
    return result


def _evaluation(store: Store, unit: str) -> tuple[int, Dossier, list[Finding]] | None:
    """The latest evaluation's dossier and findings, read consistently (an evaluation saved
    between the two reads makes it read again)."""
    for _ in range(3):
        snapshot = store.evaluations.latest_dossier(unit)
        if snapshot is None:
            return None
        findings = store.evaluations.current_findings(unit)
        if store.evaluations.current_version(unit) == snapshot.version:
            return snapshot.version, Dossier.model_validate(snapshot.dossier), findings
    return None
