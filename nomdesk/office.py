"""What the office does to a unit's dossier, one home each for the dashboard, the CLI and the bot:
record paper copies, attach a file, assign a mail to a unit, withdraw or restore a nominee, retry
a quarantined mail.

Attaching, withdrawing and restoring are kept as records the desk writes (nomdesk.accept) and
only queued: the pipeline processes them, as it does mail (RULES.md "Resubmissions": withdrawal
is explicit and replayed in arrival order). Recording paper copies changes no submission, only how
the dossier is judged: it queues a re-check of the unit for the pipeline. Callers that show the
result wait for the pipeline (`await_processed`, `await_recheck`), never do its work. Assigning a
unit (the CLI's only) checks the unit at once and answers the mail.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from config.campaign import Campaign
from intake.headers import message_headers
from intake.models import NOMINEE_KIND_ZH, Dossier
from intake.withdrawal import (
    RESTORE,
    RESTORE_OFFICE_ONLY,
    WITHDRAW,
    actor_label,
    is_office_actor,
    restore_target,
    withdraw_target,
)
from nomdesk.accept import action_mail, office_file_mail
from notify.replies import Replies
from storage.repo import Store
from storage.tables import RawMessageRecord, RawState
from validators.result import CheckResult

AUDIT_ACTION = {WITHDRAW: "nominee.withdrawn", RESTORE: "nominee.restored"}


@dataclass(frozen=True)
class NomineeAction:
    """What an office action queued: its raw message, and the nominee as the dossier names it."""

    record: RawMessageRecord
    action: str  # WITHDRAW or RESTORE
    name: str
    kind: str  # "star" or "project"

    @property
    def label(self) -> str:
        """ "百姓学习之星 张三": how a confirmation names the nominee."""
        return f"{NOMINEE_KIND_ZH[self.kind]} {self.name}"


class OfficeActions:
    """The office's actions, mixed into `nomdesk.desk.Desk`, whose intake and pipeline they use."""

    campaign: Campaign
    store: Store
    clock: Callable[[], dt.datetime]
    mail_from: str
    own_domain: str
    replies: Replies
    keep_office_record: Callable[..., RawMessageRecord]
    evaluate: Callable[[str], CheckResult]
    wake: Callable[[], None]

    def record_paper(self, unit: str, day: dt.date, *, actor: str, note: str | None = None) -> None:
        """The unit's stamped paper copies arrived on `day`. A unit with a dossier is checked again by
        the pipeline (queued, and the pipeline woken): never on the caller's request thread."""
        self.store.state.record_paper(unit, day, actor, note)
        if self.store.evaluations.current_version(unit) is not None:  # a version number, not the snapshot
            self.store.state.request_recheck(unit)
            self.wake()

    def attach(
        self,
        unit: str,
        filename: str,
        data: bytes,
        *,
        actor: str,
        origin: str = "",
        for_name: str | None = None,
        submission: int | None = None,
    ) -> RawMessageRecord:
        """A file the office attached by hand (fetched from a unit's large-file link, or uploaded),
        kept as a mail that joins `unit`'s dossier; its receipt goes to the unit's registered contacts
        when it is processed. Queued only.

        It arrived when the mail that carried its link did, so a file fetched late is not counted
        late: `submission` is that mail's number among the unit's submissions (1 = the first; 0 or
        no such number: it arrives now), by default the last of them that carried a link.
        `for_name` (a nominee or project) is put before the file name, which is what files are
        matched by."""
        for_name = (for_name or "").strip()
        if for_name and for_name not in filename:
            filename = f"{for_name}_{filename}"
        now = self.clock()
        data = office_file_mail(
            unit, filename, data, actor=actor, origin=origin, mail_from=self.mail_from, domain=self.own_domain, now=now
        )
        record = self.keep_office_record(unit, data, received_at=self._link_arrival(unit, submission) or now)
        self.store.audit.record(actor, "office.file_attached", unit, raw_id=record.id, filename=filename, origin=origin)
        return record

    def _link_arrival(self, unit: str, submission: int | None) -> dt.datetime | None:
        """When the unit's mail that carried a file's link arrived (see `attach`)."""
        rows = self.store.submissions.of_unit(unit)
        if submission is None:
            linked = [row for row in rows if (row.summary.get("submission") or {}).get("links")]
            return linked[-1].arrived_at if linked else None
        return rows[submission - 1].arrived_at if 0 < submission <= len(rows) else None

    def assign(self, submission_id: int, unit: str, *, actor: str = "office") -> CheckResult:
        """The office confirms an unknown sender's unit: the mail joins that dossier and is answered."""
        config_unit = self.campaign.unit_by_exact_name(unit) or self.campaign.unit_named(unit)
        name = config_unit.name if config_unit else unit
        row = self.store.submissions.assign_unit(submission_id, name, actor=actor)
        record = self.store.raw.get(row.raw_message_id)
        result = self.evaluate(name)
        if record is not None:
            headers = message_headers(self.store.raw.path(record))
            suppression = self.replies.suppression(headers)
            self.replies.answer(record, headers, result, suppression, key=f"reply-assigned:{record.id}")
        return result

    def retry(self, raw_id: int, *, actor: str = "office") -> RawMessageRecord:
        """The office fixed what broke a quarantined mail: it goes through the pipeline again (queued)."""
        row = self.store.raw.get(raw_id)
        if row is None:
            raise KeyError(f"no raw message {raw_id}")
        if row.state != RawState.QUARANTINED:
            raise ValueError(f"raw message {raw_id} is {row.state}, not quarantined")
        row = self.store.raw.mark(raw_id, RawState.NEW)
        self.store.audit.record(actor, "raw.retried", None, raw_id=raw_id)
        self.wake()
        return row

    # -- withdrawing and restoring a nominee -------------------------------------------------
    def withdraw(self, unit: str, name: str, *, actor: str) -> NomineeAction:
        """Withdraw one of the unit's current nominees (RULES.md "Resubmissions": withdrawal is
        explicit). Kept as a submission of its own, so the merge applies it in arrival order and the
        nominee's files stay in the store. A ValueError (in Chinese) when `name` is no current
        nominee of the unit. Queued only."""
        kind, found = withdraw_target(unit, self._dossier_to_act_on(unit), name)
        return self._nominee_action(unit, WITHDRAW, kind, found, actor)

    def restore(self, unit: str, name: str, *, actor: str) -> NomineeAction:
        """The office takes back a withdrawal; a ValueError (in Chinese) when `name` is not withdrawn,
        or when the actor is not the office (a unit cannot restore, in WeCom or by mail). Queued only."""
        if not is_office_actor(actor):
            raise ValueError(RESTORE_OFFICE_ONLY)
        kind, found = restore_target(unit, self._dossier_to_act_on(unit), name)
        return self._nominee_action(unit, RESTORE, kind, found, actor)

    def _dossier_to_act_on(self, unit: str) -> Dossier:
        """The unit's dossier as last evaluated: naming whom to act on needs no fresh evaluation
        (that comes when the action itself is processed)."""
        snapshot = self.store.evaluations.latest_dossier(unit)
        if snapshot is None:
            raise ValueError(f"{unit} 尚未报送材料，没有可撤回或恢复的推荐对象")
        return Dossier.model_validate(snapshot.dossier)

    def _nominee_action(self, unit: str, action: str, kind: str, name: str, actor: str) -> NomineeAction:
        actor = actor_label(actor)
        now = self.clock()
        data = action_mail(
            unit=unit,
            action=action,
            kind=kind,
            name=name,
            actor=actor,
            mail_from=self.mail_from,
            domain=self.own_domain,
            now=now,
        )
        record = self.keep_office_record(unit, data, received_at=now)
        self.store.audit.record(actor, AUDIT_ACTION[action], unit, name=name, kind=kind, raw_id=record.id)
        return NomineeAction(record=record, action=action, name=name, kind=kind)
