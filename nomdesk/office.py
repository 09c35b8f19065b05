"""What the office does to a unit's dossier, one home each for the dashboard, the CLI and the bot:
record paper copies, attach a file, assign an unknown sender's mails to a unit (or reject one),
withdraw or restore a nominee, void a submission (or take the void back), retry a quarantined
mail, keep a note on a unit or nominee.

Attaching, withdrawing and restoring are kept as records the desk writes (nomdesk.accept) and
only queued: the pipeline processes them, as it does mail (RULES.md "Resubmissions": withdrawal
is explicit and replayed in arrival order). Recording paper copies changes no submission, only how
the dossier is judged: it queues a re-check of the unit for the pipeline; so does voiding one,
which leaves the submission where it is and the dossier without it. Callers that show the
result wait for the pipeline (`await_processed`, `await_recheck`), never do its work. Assigning an
unknown sender's mails to a unit registers her and queues her newest mail again: the pipeline
answers it with the unit's receipt (`ASSIGNED_REPLY_KEY`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from config.campaign import Campaign
from intake.models import NOMINEE_KIND_ZH, Dossier
from intake.names import same_name
from intake.withdrawal import (
    RESTORE,
    RESTORE_OFFICE_ONLY,
    RESTORE_OWN_ONLY,
    WITHDRAW,
    actor_label,
    find_withdrawn,
    is_link_actor,
    is_office_actor,
    restore_target,
    withdraw_target,
    withdrawn_by_unit,
)
from nomdesk.accept import action_mail, named_for, office_file_mail, scratch_dir
from notify.autoreply import deliverable
from notify.replies import Replies
from storage.models import ContactView
from storage.raw import wecom_user_of
from storage.repo import Store
from storage.submissions import sender_address
from storage.tables import OfficeNote, RawMessageRecord, RawState, SubmissionRecord
from validators.result import CheckResult

AUDIT_ACTION = {WITHDRAW: "nominee.withdrawn", RESTORE: "nominee.restored"}
# The receipt of a mail the office assigned to a unit (raw id): `reply:<id>` holds the letter its
# sender got while the desk did not know her.
ASSIGNED_REPLY_KEY = "reply-assigned:{}"
CONFIRMED = "sender.assigned"  # the audit row of a confirmation of an unknown sender's mails
NOTE_MAX_CHARS = 2000  # a note is a few lines a clerk types; a page of text is pasted by mistake


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
    keep_written_mail: Callable[..., RawMessageRecord]
    evaluate: Callable[[str], CheckResult]
    wake: Callable[[], None]
    work_root: Path  # DIR/work; a file attached is made into a mail under its scratch folder

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
        data: bytes | Path,
        *,
        actor: str,
        origin: str = "",
        for_name: str | None = None,
        submission: int | None = None,
    ) -> RawMessageRecord:
        """A file the office attached by hand (fetched from a unit's large-file link, or uploaded),
        kept as a mail that joins `unit`'s dossier; its receipt goes to the unit's registered contacts
        when it is processed. Queued only. `data` is the file's bytes or, for a file of any size
        (videos of gigabytes), its path: it is streamed into the stored mail, never read whole;
        the caller still owns that file.

        It arrived when the mail that carried its link did, so a file fetched late is not counted
        late: `submission` is that mail's number among the unit's submissions (1 = the first; 0 or
        no such number: it arrives now), by default the last of them that carried a link.
        `for_name` (a nominee or project) is put before the file name, which is what files are
        matched by."""
        filename = named_for(filename, for_name)
        now = self.clock()
        mail = office_file_mail(
            unit,
            filename,
            data,
            actor=actor,
            origin=origin,
            mail_from=self.mail_from,
            domain=self.own_domain,
            now=now,
            dest_dir=scratch_dir(self.work_root),
        )
        record = self.keep_written_mail(unit, mail, received_at=self._link_arrival(unit, submission) or now)
        self.store.audit.record(actor, "office.file_attached", unit, raw_id=record.id, filename=filename, origin=origin)
        return record

    def _link_arrival(self, unit: str, submission: int | None) -> dt.datetime | None:
        """When the unit's mail that carried a file's link arrived (see `attach`)."""
        rows = self.store.submissions.of_unit(unit)
        if submission is None:
            linked = [row for row in rows if (row.summary.get("submission") or {}).get("links")]
            return linked[-1].arrived_at if linked else None
        return rows[submission - 1].arrived_at if 0 < submission <= len(rows) else None

    def assign(self, submission_id: int, unit: str, *, actor: str, register: bool = True) -> RawMessageRecord:
        """The office confirms an unknown sender's unit: this mail and every other of hers still
        waiting join that unit's dossier, she becomes the unit's contact (unless `register` is False:
        the office only sorts the mail) and her newest mail is queued to be answered with the full
        receipt of them all. Returns that raw message (`await_processed` it, or `process_pending`).

        The mail joins the unit only while it still waits (checked and set at once: of two clerks
        confirming it together, the second is told who was first). Confirming again for the same
        unit before her receipt was queued finishes what an interrupted confirmation left undone.
        A ValueError (in Chinese) for an unknown submission or unit, a mail rejected or assigned."""
        row = self.store.submissions.get(submission_id)
        if row is None:
            raise ValueError(f"没有编号 {submission_id} 的邮件")
        if row.rejected_at is not None:
            raise ValueError(f"报送 #{submission_id} 已标记为非报送邮件，不能再归入单位")
        if row.voided_at is not None:
            raise ValueError(f"报送 #{submission_id} 已作废，不能再归入单位")
        config_unit = self.campaign.unit_called(unit)
        if config_unit is None:
            raise ValueError(f"“{unit.strip()}”不在本次活动的单位名单中，请填写单位全称、别称或回执中的简称")
        name = config_unit.name
        raw = self.store.raw.get(row.raw_message_id)
        address = sender_address(row, raw.sender if raw else None)
        if row.unit_name is None:
            try:
                self.store.submissions.assign_unit(row.id or 0, name, actor=actor, only_waiting=True)  # audited
            except ValueError:
                now = self.store.submissions.get(submission_id)
                row = now if now is not None else row
        if row.unit_name is not None and (row.unit_name != name or self._confirmed(name, row)):
            raise ValueError(f"报送 #{submission_id} 已归入 {row.unit_name}，无需再确认")
        # A held mail (a registered contact's address that failed sender authentication, nomdesk.held)
        # is decided alone: another mail in her name may be the forged one.
        held = row.held_unit is not None
        for mail in [] if held else self.store.submissions.waiting_mails():  # her other mails still waiting
            if address and mail.sender == address and mail.submission_id != submission_id and not mail.held_unit:
                try:
                    self.store.submissions.assign_unit(mail.submission_id, name, actor=actor, only_waiting=True)
                except ValueError:
                    continue  # taken by another clerk meanwhile
        rows = [row] if held else self._mails_of(name, address, row)
        registered = self._register_sender(name, address, raw, rows, actor) if register else None
        # Queued after she is registered: the pipeline decides by then whom the receipt goes to.
        record = self.store.raw.mark(rows[-1].raw_message_id, RawState.NEW)
        self.store.audit.record(  # last: the mark of a confirmation carried through (`_confirmed`)
            actor,
            CONFIRMED,
            name,
            submission_ids=[r.id for r in rows],
            sender=address,
            registered=registered.id if registered else None,
        )
        self.wake()
        return record

    def _mails_of(self, unit: str, address: str, row: SubmissionRecord) -> list[SubmissionRecord]:
        """The sender's submissions in the unit, in arrival order (just `row` for a mail with no sender)."""
        if not address:
            return [row]
        return [r for r in self.store.submissions.of_unit(unit) if sender_address(r) == address] or [row]

    def _confirmed(self, unit: str, row: SubmissionRecord) -> bool:
        """Whether a confirmation of this mail for the unit was carried through to its end."""
        done = self.store.audit.entries(unit_name=unit, action=CONFIRMED, limit=1000)
        return any(row.id in (entry.detail or {}).get("submission_ids", []) for entry in done)

    def _registrable(self, address: str, wecom_user: str | None) -> bool:
        """Her WeCom account or address is nobody's yet, not the office's, and (an address) answerable."""
        directory = self.store.directory
        if wecom_user is not None:
            return directory.unit_of_wecom_user(wecom_user) is None and not directory.is_office(wecom_user=wecom_user)
        if not address or not deliverable(address) or address in self.replies.own_addresses:
            return False
        return self.store.contacts.owner_of_address(address) is None and not directory.is_office(address=address)

    def _register_sender(
        self, unit: str, address: str, raw: RawMessageRecord | None, rows: list[SubmissionRecord], actor: str
    ) -> ContactView | None:
        """The sender becomes the unit's contact: her WeCom account for a file sent in WeCom, else a
        deliverable address that is not the office's; never one that is someone's already. Her name
        and phone as she gave them (else the From line's name)."""
        wecom_user = wecom_user_of(raw) if raw is not None else None
        if not self._registrable(address, wecom_user):
            return None
        claims = [(r.summary or {}).get("claim") or {} for r in reversed(rows)]  # her newest words first
        said = [(r.summary or {}).get("submission") or {} for r in reversed(rows)]
        name = next((c["name"] for c in claims if c.get("name")), None)
        fallback = wecom_user or address
        name = name or next((s["sender_name"].strip() for s in said if (s.get("sender_name") or "").strip()), fallback)
        phone = next((c["phone"] for c in claims if c.get("phone")), None)
        # The same person confirmed twice at once (two clerks) is one contact with this address.
        same = next((c for c in self.store.contacts.list(unit, office=False) if c.name == name), None)
        emails = [] if wecom_user is not None else [*(same.emails if same else []), address]
        found, _ = self.store.contacts.upsert(
            unit, name, emails=emails, wecom_user=wecom_user, phone=phone, role="联系人", actor=actor
        )
        return found

    def reject(self, submission_id: int, *, actor: str, reason: str = "") -> None:
        """The office says a waiting mail is no submission: it leaves the 待确认 queue, kept in the
        store; the sender gets no answer. A ValueError (in Chinese) for a mail already assigned."""
        row = self.store.submissions.get(submission_id)
        if row is None:
            raise ValueError(f"没有编号 {submission_id} 的邮件")
        if row.unit_name is not None:
            raise ValueError(f"报送 #{submission_id} 已归入 {row.unit_name}，不能再标记为非报送邮件")
        self.store.submissions.reject(submission_id, actor=actor, reason=reason)  # audited

    # -- voiding a submission -----------------------------------------------------------------
    def void(self, submission_id: int, *, actor: str, reason: str) -> SubmissionRecord:
        """The office voids (作废) a submission, a forged one say: the one home of it for the CLI,
        the dashboard and the bot. Its unit's dossier is rebuilt without it by the pipeline (queued
        as a re-check, and the pipeline woken; `await_recheck` waits for it), and with it the
        nominee table other units are compared with, the digest and the roster. Nothing is deleted:
        the raw mail and its files stay, and the submission keeps its number. The unit's next
        receipt says which submission was voided and why, so the reason is required.
        A ValueError (in Chinese) for an unknown submission, no reason, or one voided already."""
        try:
            row = self.store.submissions.void(submission_id, actor=actor, reason=reason)  # audited
        except KeyError as exc:
            raise ValueError(f"没有编号为 {submission_id} 的报送") from exc
        self._recheck_after_void(row)
        return row

    def unvoid(self, submission_id: int, *, actor: str) -> SubmissionRecord:
        """Take back a void (a clerk voided the wrong mail): the submission counts again and its
        unit is checked again (queued). A ValueError (in Chinese) when it is not voided."""
        try:
            row = self.store.submissions.unvoid(submission_id, actor=actor)  # audited
        except KeyError as exc:
            raise ValueError(f"没有编号为 {submission_id} 的报送") from exc
        self._recheck_after_void(row)
        return row

    def _recheck_after_void(self, row: SubmissionRecord) -> None:
        if row.unit_name is not None:  # a mail still waiting for its unit is in no dossier
            self.store.state.request_recheck(row.unit_name)
            self.wake()

    def add_note(self, unit: str, text: str, *, actor: str, nominee: str | None = None) -> OfficeNote:
        """A note the office keeps on a unit, or on one of its nominees (by the name its dossier
        gives); never sent to the unit. A ValueError (in Chinese) for an empty or overlong note, or
        a nominee the unit's dossier does not name."""
        text = text.strip()
        if len(text) > NOTE_MAX_CHARS:
            raise ValueError(f"备注过长（最多 {NOTE_MAX_CHARS} 字），请精简后再保存")
        about = (nominee or "").strip() or None
        if about is not None:
            snapshot = self.store.evaluations.latest_dossier(unit)
            dossier = Dossier.model_validate(snapshot.dossier) if snapshot else None
            names = [e.name for e in (*dossier.stars, *dossier.projects, *dossier.withdrawn)] if dossier else []
            spelt = next((n for n in names if same_name(n, about)), None)  # 阿依古丽・买买提 is 阿依古丽·买买提
            if spelt is None:
                raise ValueError(f"{unit} 的推荐对象中没有“{about}”，备注未保存")
            about = spelt
        return self.store.state.add_note(unit, text, author=actor, nominee=about)  # audited

    def retry(self, raw_id: int, *, actor: str = "office") -> RawMessageRecord:
        """The office fixed what broke a quarantined mail: it goes through the pipeline again (queued)."""
        row = self.store.raw.get(raw_id)
        if row is None:
            raise KeyError(f"没有编号 {raw_id} 的来件")
        if row.state != RawState.QUARANTINED:
            raise ValueError(f"来件 #{raw_id} 不在“待人工处理”中（状态：{row.state}），无需重新处理")
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
        or when the actor is not the office (a unit cannot restore, in WeCom or by mail). A unit
        contact on her own page (a link actor, nomdesk.unit_actions) may take back what the unit
        itself withdrew, never what the office did. Queued only."""
        link = is_link_actor(actor)
        if not link and not is_office_actor(actor):
            raise ValueError(RESTORE_OFFICE_ONLY)
        dossier = self._dossier_to_act_on(unit)
        kind, found = restore_target(unit, dossier, name)
        gone = find_withdrawn(dossier, found)
        if link and gone is not None and not withdrawn_by_unit(gone):
            raise ValueError(RESTORE_OWN_ONLY.format(name=found))
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
