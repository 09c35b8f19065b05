"""The desk's pipeline: a stored raw message becomes a submission, an evaluation and a reply.

Order matters for "nothing lost, nothing twice" (DESIGN.md flow, step 1):
1. the raw bytes are stored (content-addressed) before anything reads them;
2. processing a raw message is idempotent: the submission is keyed by the raw message,
   the reply by `reply:<raw id>` in the outbox (`reply-assigned:<raw id>` for the receipt of a
   mail the office assigned after its unknown sender was answered), so a crash at any step and
   a rerun give the same result and never a second reply;
3. anything that breaks the pipeline puts the message back with a backoff; a transient error
   (disk, database) retries as long as it lasts (up to `retry_give_up_after_hours`), the third
   deterministic failure quarantines the message for a person, with the error
   (nomdesk/failures.py); the raw bytes stay in the store.
"""

from __future__ import annotations

import datetime as dt
import email.policy
import logging
import shutil
import tempfile
import time
from collections.abc import Callable
from email.utils import getaddresses
from pathlib import Path
from typing import Any, TypeVar

from bot.answers import Answerer
from config.campaign import Campaign
from config.clock import Clock, real_now
from config.faults import is_transient
from config.masking import mask_phone, mask_text
from config.settings import Settings
from intake.authentication import TxtLookup
from intake.headers import message_headers
from intake.models import Submission
from intake.package import read_submission
from intake.sender_claim import SenderClaim, read_claim
from intake.source import SourceUnreadable
from intake.unit import resolve_unit
from intake.withdrawal import take_actions
from nomdesk.accept import OFFICE_SOURCE, Accepting
from nomdesk.evaluation import Evaluation
from nomdesk.failures import FailedMail
from nomdesk.held import SenderHolds
from nomdesk.office import ASSIGNED_REPLY_KEY, OfficeActions
from nomdesk.unit_actions import UnitActions
from notify.letters import (
    compose_claim_received_reply,
    compose_still_waiting_reply,
    compose_unknown_sender_reply,
)
from notify.mail import desk_message_id_domain
from notify.replies import Replies
from storage.raw import wecom_user_of
from storage.repo import Store
from storage.submissions import sender_address
from storage.tables import RawMessageRecord, RawState, SubmissionRecord
from validators.result import CheckResult

log = logging.getLogger(__name__)

T = TypeVar("T")
WORK_DIR_MAX_AGE = dt.timedelta(hours=1)  # far longer than reading the biggest package takes
PIPELINE_DONE = (RawState.DONE, RawState.IGNORED, RawState.QUARANTINED)  # the pipeline has taken it
AWAIT_POLL_SECONDS = 0.05  # how often a caller waiting for the pipeline looks at the store
OFFICE_RECEIPT_KEY = "reply-office:{}"  # the outbox key of the receipt of an office record (raw id)


class Desk(Accepting, OfficeActions, UnitActions):
    """One campaign's desk over one store; thread-safe as far as the store is.

    Its way in (`accept`, `ingest_file`, `accept_wecom_file`) is nomdesk.accept's, the office's
    actions (`record_paper`, `attach`, `assign`, `reject`, `withdraw`, `restore`, `void`, `unvoid`,
    `retry`, `add_note`) nomdesk.office's, the unit page's (`unit_upload`, `remove_file`)
    nomdesk.unit_actions', a unit's check (`evaluate`, re-checks) nomdesk.evaluation's;
    here is the pipeline that turns what was kept into submissions, evaluations and replies."""

    def __init__(
        self,
        settings: Settings,
        campaign: Campaign,
        store: Store,
        *,
        clock: Clock = real_now,
        dns: TxtLookup | None = None,
    ) -> None:
        """`dns`: the TXT lookup sender authentication uses (DKIM keys, DMARC records); None: the
        system's DNS as settings say (nomdesk.held `sender_authenticator`). Tests pass a dict's."""
        mail_from = settings.mail_from or campaign.office.email
        super().__init__(
            campaign, store, clock=clock, mail_from=mail_from, own_domain=desk_message_id_domain(mail_from)
        )
        self.settings = settings
        self.lease = dt.timedelta(seconds=settings.lease_seconds)  # of each claim, renewed by the service
        self.work_root = settings.data_dir / "work"
        self.work_root.mkdir(parents=True, exist_ok=True)
        answerer = Answerer(store, campaign, clock=clock)

        def wecom_state(unit: str, result: CheckResult) -> str:
            latest = (result.dossier, result.findings)
            return (
                answerer.status(unit, latest=latest, checklist=False) + "\n\n" + answerer.missing(unit, latest=latest)
            )

        self.replies = Replies(settings, campaign, store, clock=clock, mail_from=mail_from, wecom_state=wecom_state)
        self.holds = SenderHolds(settings, campaign, store, self.replies, clock, dns)
        self.failures = FailedMail(settings, campaign, store, self.replies, clock, self.holds)
        self.evaluation = Evaluation(settings, campaign, store, self.replies, clock)

    # -- processing -------------------------------------------------------------------------
    def recover(self) -> None:
        """After a crash or restart: messages, outbox rows and WeCom files whose worker's lease ran
        out (or whose worker on this host is gone) go back to the queue, never those another live
        desk on the same database is working on (storage/leases.py); and units whose last check did
        not finish (a rule raised) are checked again: a restart is how a fixed rule is deployed,
        and the unit must not stay 检查未完成 until its next mail."""
        self.failures.record_unwritten()  # failures this process could not write are no killed workers
        self.store.leases.take_back_expired()
        for unit in self.store.overview.units():
            if unit.check_error:
                self.store.state.request_recheck(unit.name)
        self._sweep_work_dirs()

    def _sweep_work_dirs(self, older_than: dt.timedelta = WORK_DIR_MAX_AGE) -> None:
        """Unpacked packages a killed process left under DIR/work (they can be gigabytes of video).
        Only old ones: a CLI command beside `serve` may be reading one right now."""
        cutoff = time.time() - older_than.total_seconds()
        for leftover in self.work_root.iterdir():
            try:
                stale = leftover.stat().st_mtime < cutoff
            except FileNotFoundError:
                continue
            if stale:
                shutil.rmtree(leftover, ignore_errors=True)
                log.info("removed a work folder left by an interrupted run: %s", leftover.name)

    def process_pending(self, limit: int | None = None) -> int:
        """Re-check the units waiting for it, then process queued raw messages (up to `limit`)."""
        self.failures.record_unwritten()  # first: the database may be back after an outage
        done = self.evaluation.recheck_pending()
        while limit is None or done < limit:
            record = self.store.raw.claim_next(self.clock(), lease=self.lease)
            if record is None:
                break
            self.process(record)
            done += 1
        return done

    # -- waiting for the pipeline (a page that shows what an action queued) ---------------------
    def await_processed(self, raw_id: int, timeout: float) -> RawMessageRecord | None:
        """The raw message once the pipeline has taken it (done, ignored or quarantined); None while
        it is still queued after `timeout` seconds. Only waits: the work is the pipeline's."""

        def taken() -> RawMessageRecord | None:
            record = self.store.raw.get(raw_id)
            return record if record is not None and record.state in PIPELINE_DONE else None

        return self._await(taken, timeout)

    def await_recheck(self, unit: str, timeout: float) -> bool:
        """Whether the pipeline checked the unit again (see `record_paper`) within `timeout` seconds."""
        return bool(self._await(lambda: all(u != unit for u, _ in self.store.state.rechecks()), timeout))

    @staticmethod
    def _await(ready: Callable[[], T], timeout: float, poll: float = AWAIT_POLL_SECONDS) -> T | None:
        deadline = time.monotonic() + timeout
        while not (result := ready()):
            if time.monotonic() >= deadline:
                return None
            time.sleep(poll)
        return result

    def process(self, record: RawMessageRecord) -> None:
        """Process one claimed raw message. A failure never loses or drops it: a transient one
        (a full disk, a locked database) is retried later, a deterministic one too until its third
        time, which quarantines it for a person (nomdesk/failures.py)."""
        try:
            self._process(record)
        except Exception as exc:  # the pipeline must never lose or drop a message
            self.failures.handle(record, exc)

    def _process(self, record: RawMessageRecord) -> None:
        raw_path = self.store.raw.path(record)
        headers = message_headers(raw_path)
        if record.source == OFFICE_SOURCE:
            # Written by the office (a file it attached, a withdrawal): it joins the unit's dossier,
            # and the unit's contacts get its receipt by mail (the unit did not send it: no reply-to).
            row = self.store.submissions.for_raw(record.id) or self._read_and_store(record, headers)
            if row.unit_name is not None:
                with self.evaluation.serialised(row.unit_name):  # the check and its receipt, one process at a time
                    result = self.evaluate(row.unit_name)
                    self.replies.mail_contacts(
                        OFFICE_RECEIPT_KEY.format(record.id), record, result, not_before=self.clock()
                    )
            self.store.raw.finish(record.id, RawState.DONE, was=record.state, worker=record.claimed_by)
            return
        # raw_path: a vacation reply known by its words only is not read as a submission either.
        suppression = self.replies.suppression(headers, raw_path)
        if self.replies.from_a_robot(suppression):
            # An auto-reply, a bounce or our own message looping back: kept in the store, not a submission.
            why = f"not a submission: {suppression}"
            self.store.raw.finish(record.id, RawState.IGNORED, was=record.state, error=why, worker=record.claimed_by)
            self.store.audit.record("intake", "raw.ignored", None, raw_id=record.id, reason=suppression)
            return

        submission_row = self.store.submissions.for_raw(record.id) or self._read_and_store(record, headers)
        if submission_row.unit_name is None and submission_row.held_unit is not None:
            # Her address, but not her domain's signature: held for the office (nomdesk.held), and
            # never pulled into the unit here; the sender gets no answer (she may be a forger).
            if submission_row.rejected_at is None:
                self.holds.tell(record, submission_row)
            self.store.raw.finish(record.id, RawState.DONE, was=record.state, worker=record.claimed_by)
            return
        if submission_row.unit_name is None and submission_row.rejected_at is None:
            submission_row = self._known_since(record, submission_row)
        unit = submission_row.unit_name
        if unit is None:
            self._answer_unknown_sender(record, headers, submission_row, suppression)
        else:
            # Another process may be taking a mail of the same unit: the check and the receipt
            # compared with the last one are made under the unit's lock (nomdesk.evaluation).
            with self.evaluation.serialised(unit):
                result = self.evaluate(unit)
                key = self._reply_key(record)
                if key != f"reply:{record.id}" and not self._is_contact_of(unit, submission_row, record):
                    # Assigned without registering her: the office did not make her the unit's contact,
                    # so the dossier goes to those who are (none: nobody), never to an unconfirmed sender.
                    self.replies.mail_contacts(key, record, result, not_before=self.clock())
                else:
                    self.replies.answer(record, headers, result, suppression, key=key)
        # Not if the office queued it again meanwhile (it assigned the mail while it was being read).
        self.store.raw.finish(record.id, RawState.DONE, was=record.state, worker=record.claimed_by)

    def _unit_of_sender(self, row: SubmissionRecord, record: RawMessageRecord) -> str | None:
        """The unit whose contact sent the mail (her WeCom account, or her address), as of now."""
        wecom_user = wecom_user_of(record)
        if wecom_user is not None:
            return self.store.directory.unit_of_wecom_user(wecom_user)
        address = sender_address(row, record.sender)
        return self.store.directory.unit_of_address(address) if address else None

    def _is_contact_of(self, unit: str, row: SubmissionRecord, record: RawMessageRecord) -> bool:
        return self._unit_of_sender(row, record) == unit

    def _known_since(self, record: RawMessageRecord, row: SubmissionRecord) -> SubmissionRecord:
        """A mail read while its sender was unknown whose sender the office has registered since (she
        was confirmed while this mail was on its way through): it joins her unit, not the queue."""
        unit = self._unit_of_sender(row, record)
        if unit is None:
            return row
        try:
            return self.store.submissions.assign_unit(row.id or 0, unit, actor="intake", only_waiting=True)
        except ValueError:
            return self.store.submissions.get(row.id or 0) or row

    def _reply_key(self, record: RawMessageRecord) -> str:
        """`reply:<id>`, unless that is the letter to a sender the desk did not know then: the mail
        was assigned to a unit since (`assign`), and its receipt is a reply of its own. A rerun
        after a crash finds the same key, so a mail is never answered twice."""
        first = self.store.outbox.by_key(f"reply:{record.id}")
        if first is not None and first.unit_name is None:
            return ASSIGNED_REPLY_KEY.format(record.id)
        return f"reply:{record.id}"

    def _read_and_store(self, record: RawMessageRecord, headers: email.message.Message) -> SubmissionRecord:
        workdir = Path(tempfile.mkdtemp(prefix=f"raw{record.id}-", dir=self.work_root))
        try:
            try:
                submission = read_submission(self.store.raw.path(record), workdir, self.campaign, 0)
            except SourceUnreadable as exc:
                if is_transient(exc):  # the disk, not the mail: retried later (nomdesk/failures.py)
                    raise
                # Nothing readable at all: still a submission (empty), so the unit hears about it.
                submission = Submission(
                    index=0, source=f"raw:{record.id}", sender=record.sender, subject=record.subject
                )
                submission.problems = []
                log.warning("raw message %s unreadable: %s", record.id, exc)
            submission.source = f"raw:{record.id}"
            office = headers if record.source == OFFICE_SOURCE else None
            take_actions(submission, office, words_count=record.source != "wecom")  # withdraw/restore
            files = [self.store.submissions.store_file(f) for f in submission.files]
            for file, stored in zip(submission.files, files, strict=True):
                file.local = self.store.submissions.file_path(stored)
            # Volumes of a set not whole in this mail: kept, to be joined when a later mail completes it
            # (nomdesk.volumes).
            volumes = [self.store.submissions.store_volume(v) for v in submission.volumes]
            for volume, stored in zip(submission.volumes, volumes, strict=True):
                volume.local = self.store.submissions.file_path(stored)
            files += volumes
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

        # getaddresses gives [] for a mail without a From line, or one whose From holds nothing
        _, sender = next(iter(getaddresses([submission.sender or record.sender or ""])), ("", ""))
        sender = sender.lower()
        wecom_user = wecom_user_of(record)
        if record.source == OFFICE_SOURCE and record.source_ref:
            unit_name = record.source_ref.split(":", 1)[1]
        elif wecom_user is not None:
            unit_name = self.store.directory.unit_of_wecom_user(wecom_user)
        else:
            unit_name = self.store.directory.unit_of_address(sender) if sender else None
        guess = None
        summary: dict[str, Any] = {"submission": submission.model_dump(mode="json")}
        verdict = self.holds.verdict(record, self.store.raw.path(record))  # judged once, kept with it
        if verdict is not None:
            summary["auth"] = verdict.model_dump(mode="json")
        held = unit_name if unit_name is not None and self.holds.holds(unit_name, verdict) else None
        if held is not None:
            unit_name, summary["unit_guess"], guess = None, held, held
        elif unit_name is None:
            summary["unit_guess"] = guess = resolve_unit([submission], self.campaign).name
            summary["claim"] = read_claim(submission, self.campaign).model_dump()  # who she says she is
        row, _ = self.store.submissions.add(
            record.id,
            unit_name=unit_name,
            arrived_at=record.received_at,
            unit_confirmed=unit_name is not None,
            summary=summary,
            files=files,
            held_unit=held,
            held_reason=verdict.reason_zh if held is not None and verdict is not None else None,
        )
        self.store.audit.record(
            "intake",
            "submission.read",
            unit_name,
            raw_id=record.id,
            files=len(submission.files),
            problems=len(submission.problems),
            unit_guess=guess,
        )
        return row

    def evaluate(self, unit: str) -> CheckResult:
        """Check the unit's whole dossier again and keep the result (nomdesk.evaluation)."""
        return self.evaluation.evaluate(unit)

    # -- a sender the desk does not know -----------------------------------------------------
    def _answer_unknown_sender(self, record, headers, row: SubmissionRecord, suppression: str | None) -> None:
        """Never a dead end: the first mail asks who she is; a mail that says so is proposed to the
        office and she is told it was; any other mail while she waits says her mails are kept."""
        claim = SenderClaim.model_validate(row.summary.get("claim") or {})
        address = sender_address(row, record.sender)
        mine = [m for m in self.store.submissions.waiting_mails() if address and m.sender == address]
        earlier = [m for m in mine if m.submission_id != row.id]
        waiting = len(earlier) + 1
        said = next((m for m in reversed(earlier) if m.claim_certain and (m.claim_name or m.claim_phone)), None)
        now = self.clock()
        if claim.usable:
            reply = compose_claim_received_reply(self.campaign, claim, waiting=waiting, now=now)
        elif earlier:
            before = (
                SenderClaim(unit=said.claim_unit, certain=True, name=said.claim_name, phone=said.claim_phone)
                if said
                else None
            )
            reply = compose_still_waiting_reply(self.campaign, waiting=waiting, claimed=before, now=now)
        else:
            reply = compose_unknown_sender_reply(self.campaign, now=now)
        suppression = self.holds.unknown_suppression(row, suppression)  # failed authentication: no backscatter
        self.replies.enqueue(f"reply:{record.id}", record, headers, reply, None, suppression)
        self.store.audit.record(
            "intake",
            "unit.unknown",
            None,
            raw_id=record.id,
            submission_id=row.id,
            unit_guess=row.summary.get("unit_guess"),
            claim_unit=claim.unit,
            claim_certain=claim.certain,
            waiting=waiting,
        )
        log.info(
            "raw message %s from an unregistered sender (%d waiting): %s",
            record.id,
            waiting,
            mask_text(f"{claim.unit or '-'} {claim.name or '-'} {claim.phone or '-'}"),
        )
        if claim.usable or not earlier:  # a new proposal; a further mail is in the 待确认 queue
            self._propose_to_office(record, row, claim, waiting)

    def _propose_to_office(
        self, record: RawMessageRecord, row: SubmissionRecord, claim: SenderClaim, waiting: int
    ) -> None:
        """The office's notice: who wrote, what came, which unit she is (said or guessed), whether
        that unit has contacts, and how to confirm."""
        wecom_user = wecom_user_of(record)
        sender = wecom_user or record.sender or "（无发件人）"
        who = "企业微信账号" if wecom_user else "邮箱"
        guess = (claim.unit if claim.certain else None) or row.summary.get("unit_guess")
        files = len(self.store.submissions.files(row.id or 0))
        lines = [f"收到未登记{who} {sender} 的来件（主题：{record.subject or '（无）'}，附件 {files} 个文件）。"]
        if waiting > 1:
            lines.append(f"该发件人共有 {waiting} 封邮件等待确认。")
        if claim.usable:
            lines.append(
                f"发件人自述：单位 {claim.unit}；联系人 {claim.name or '（未写）'}；"
                f"电话 {mask_phone(claim.phone) if claim.phone else '（未写）'}。"
            )
        elif claim.unit and not claim.certain:
            lines.append("发件人在邮件中提到了多个单位，无法确定。")
        lines.append(f"系统推测所属单位：{guess or '无法推测'}。")
        if note := self.holds.unknown_note(row):
            lines.append(note)
        if guess:
            contacts = self.store.contacts.list(guess)
            if contacts:
                names = "、".join(c.name for c in contacts)
                lines.append(f"该单位已有联系人 {names}，请核实后决定是否登记。")
            else:
                lines.append(f"该单位尚无联系人，可在工作台“待确认”页一键确认，确认后此{who}即登记为该单位联系人。")
        lines.append(
            f"也可用命令确认：`nomdesk assign {row.id} {guess or '单位全称'}`"
            f"（只归入单位、不登记联系人：加 --no-register）；不是报送材料：`nomdesk reject {row.id}`。"
        )
        lines.append("确认后，系统将检查该发件人等待确认的全部邮件并回复。")
        subject = f"【待确认】未登记{who}来件：{sender}" + (f"（自称 {claim.unit}）" if claim.usable else "")
        self.replies.tell_office(f"office-unknown:{record.id}", subject, "\n".join(lines) + "\n", record.id)
