"""Where each unit stands, read once from storage for the reminders, the digest and the roster."""

from __future__ import annotations

import datetime as dt
import weakref
from dataclasses import dataclass, field
from enum import StrEnum

from config.campaign import Campaign
from config.gc_pause import paused_gc
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
# Each store's evaluations as last read, shared by every reader of the process (the scheduler's
# digest and reminders, the dashboard's roster and digest downloads, the CLI): a unit is read
# again only once it was evaluated again, which the overview tells from the database, so the
# cache stays true whichever process evaluated. The dossiers are shared: read them, never change them.
_SHARED: weakref.WeakKeyDictionary[Store, EvaluationCache] = weakref.WeakKeyDictionary()


def shared_cache(store: Store) -> EvaluationCache:
    """The evaluations of `store` kept for this process (see `collect_status`)."""
    return _SHARED.setdefault(store, {})


def forget_evaluations(store: Store) -> None:
    """Drop the kept evaluations of `store`: the next `collect_status` reads every unit's again."""
    _SHARED.pop(store, None)


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

    A unit's dossier is read again only after a new evaluation: the evaluations read are kept
    in `cache`, by default the store's `shared_cache`. The units not kept are read at once.
    `waiting`: the 待确认 queue when the caller has just read it (else it is read here, once).
    `unit`: only that unit (one page's download need not read every unit's dossier)."""
    cache = shared_cache(store) if cache is None else cache
    guessed = store.submissions.waiting_by_unit() if waiting is None else waiting_by_unit(waiting)
    contacts: dict[str | None, list[ContactView]] = {}
    for contact in store.contacts.list():
        contacts.setdefault(contact.unit_name, []).append(contact)
    rows = [
        row
        for row in store.overview.units()
        if not (known_only and not row.known) and (unit is None or row.name == unit)
    ]
    # Every unit whose evaluation is not kept yet, read at once (not three queries per unit).
    stale = [
        row.name
        for row in rows
        if row.evaluated_version is not None and (row.name not in cache or cache[row.name][0] < row.evaluated_version)
    ]
    with paused_gc():  # hundreds of thousands of objects built, none of them garbage
        for name, (snapshot, findings) in store.evaluations.latest_evaluations(stale).items():
            if name not in cache or cache[name][0] < snapshot.version:
                cache[name] = (snapshot.version, Dossier.model_validate(snapshot.dossier), findings)
    paper = store.state.paper_dates() if any(row.paper_received for row in rows) else {}
    result = []
    for row in rows:
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
        if row.evaluated_version is not None and row.name in cache:
            _, status.dossier, status.findings = cache[row.name]
        if row.paper_received:
            status.paper_dates = paper.get(row.name, [])
        if status.dossier is not None:
            end = campaign.deadline_end
            status.late = any(s.arrived_at is not None and s.arrived_at >= end for s in status.dossier.submissions)
        result.append(status)
    return result
