"""The desk's pipeline: a stored raw message becomes a submission, an evaluation and a reply.

Order matters for "nothing lost, nothing twice" (DESIGN.md flow, step 1):
1. the raw bytes are stored (content-addressed) before anything reads them;
2. processing a raw message is idempotent: the submission is keyed by the raw message,
   the reply by `reply:<raw id>` in the outbox, so a crash at any step and a rerun give
   the same result and never a second reply;
3. anything that breaks the pipeline quarantines the message for a person, with the
   error; the raw bytes stay in the store.
"""

from __future__ import annotations

import datetime as dt
import email.policy
import email.utils
import hashlib
import logging
import shutil
import tempfile
import time
from collections.abc import Callable
from email.utils import getaddresses, parsedate_to_datetime
from pathlib import Path

from config.campaign import Campaign, UnitKind
from config.masking import mask_text
from config.settings import Settings
from intake.dossier import build_dossier
from intake.headers import message_headers
from intake.models import WECOM_SUBJECT_PREFIX, Dossier, Submission
from intake.package import read_submission
from intake.source import SourceUnreadable
from intake.sources.base import IncomingRef
from intake.unit import UnitResolution, resolve_unit
from nomdesk.check import CheckResult, submission_ref
from nomdesk.nominee_actions import (
    ACTOR_HEADER,
    AUDIT_ACTION,
    RESTORE,
    RESTORE_OFFICE_ONLY,
    WITHDRAW,
    NomineeAction,
    action_mail,
    actor_label,
    is_office_actor,
    restore_target,
    take_actions,
    withdraw_target,
)
from nomdesk.replies import Replies, wecom_user_of
from nomdesk.stored import WECOM_DOMAIN, merge_wecom_bursts, reindex
from notify.compose import compose_quarantine_ack, compose_unknown_sender_reply
from notify.mail import desk_message_id_domain
from storage.repo import Store
from storage.tables import RawMessageRecord, RawState, SubmissionRecord
from validators import run_rules
from validators.rules.exemplar import is_exemplar_mark

log = logging.getLogger(__name__)

WECOM_USER_HEADER = "X-Nomdesk-WeCom-User"
OFFICE_SOURCE = "office"  # raw messages only the dashboard writes; their source_ref is "office:<unit>"

Clock = Callable[[], dt.datetime]
WORK_DIR_MAX_AGE = dt.timedelta(hours=1)  # far longer than reading the biggest package takes
OFFICE_RECEIPT_KEY = "reply-office:{}"  # the outbox key of the receipt of an office record (raw id)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Desk:
    """One campaign's desk over one store; thread-safe as far as the store is."""

    def __init__(self, settings: Settings, campaign: Campaign, store: Store, *, clock: Clock = utcnow) -> None:
        self.settings = settings
        self.campaign = campaign
        self.store = store
        self.clock = clock
        self.work_root = settings.data_dir / "work"
        self.work_root.mkdir(parents=True, exist_ok=True)
        self.mail_from = settings.mail_from or campaign.office.email
        self.own_domain = desk_message_id_domain(self.mail_from)  # of the Message-IDs the desk writes
        self.replies = Replies(
            settings, campaign, store, clock=clock, mail_from=self.mail_from, own_domain=self.own_domain
        )

    # -- intake -----------------------------------------------------------------------------
    def accept(self, path: Path, ref: IncomingRef) -> None:
        """The sources' sink: store the raw bytes durably (deduplicated) before anything else."""
        record, created = self.store.put_raw(
            path,
            source=ref.source,
            source_ref=ref.source_ref,
            received_at=ref.received_at,
            dedupe_message_id=True,
        )
        log.info("raw message %s %s from %s", record.id, "stored" if created else "already stored", ref.source)

    def ingest_file(self, path: Path, *, received_at: dt.datetime | None = None) -> RawMessageRecord:
        """`nomdesk ingest`: a mail file handed in by hand; its arrival is its Date header unless given."""
        if received_at is None:
            try:
                date = message_headers(path)["Date"]
                received_at = parsedate_to_datetime(str(date)) if date else None
                if received_at is not None and received_at.tzinfo is None:
                    received_at = received_at.replace(tzinfo=self.campaign.tz)
            except (ValueError, TypeError, OSError):
                received_at = None
        record, _ = self.store.put_raw(
            path, source="cli", source_ref=path.name, received_at=received_at or self.clock(), dedupe_message_id=True
        )
        return record

    def accept_wecom_file(self, user_id: str, media_id: str, filename: str, data: bytes) -> RawMessageRecord:
        """A file a contact sent to the WeCom app, kept as a mail so it takes the same path as mail."""
        from email.message import EmailMessage

        msg = EmailMessage()
        msg["From"] = f"{user_id}@{WECOM_DOMAIN}"
        msg["To"] = self.mail_from
        msg["Subject"] = f"{WECOM_SUBJECT_PREFIX}{filename}"
        msg["Date"] = email.utils.format_datetime(self.clock())
        # One Message-ID per WeCom file, so a hand-off repeated after a crash is the same mail.
        msg["Message-ID"] = f"<wecom-{hashlib.sha256(media_id.encode()).hexdigest()[:24]}@{WECOM_DOMAIN}>"
        msg[WECOM_USER_HEADER] = user_id
        msg.set_content(f"{user_id} 通过企业微信发送的文件：{filename}\n", cte="base64")
        # The type is sniffed from content downstream, like every attachment's.
        msg.add_attachment(data, maintype="application", subtype="octet-stream", filename=filename)
        # A fixed boundary too: the same file handed over again is then the same body, which is
        # what makes a copy under a known Message-ID a duplicate rather than a new mail.
        msg.set_boundary(f"nomdesk-wecom-{hashlib.sha256(media_id.encode()).hexdigest()[:32]}")
        record, _ = self.store.put_raw(
            msg.as_bytes(),
            source="wecom",
            source_ref=f"wecom:{user_id}:{media_id}",
            received_at=self.clock(),
            dedupe_message_id=True,
        )
        return record

    def accept_office_file(
        self,
        unit: str,
        filename: str,
        data: bytes,
        *,
        actor: str,
        origin: str = "",
        received_at: dt.datetime | None = None,
        for_name: str | None = None,
    ) -> RawMessageRecord:
        """A file the office attached by hand (fetched from a unit's large-file link, or uploaded):
        kept as a mail that joins `unit`'s dossier. `received_at` is when the unit sent it (the mail
        that carried the link), so a file fetched late is not counted late. Its receipt goes to the
        unit's registered contacts when it is processed.
        `for_name` (a nominee or project) is put before the file name, which is what files are
        matched by."""
        for_name = (for_name or "").strip()
        if for_name and for_name not in filename:
            filename = f"{for_name}_{filename}"
        from email.message import EmailMessage

        msg = EmailMessage()
        msg["From"] = self.mail_from
        msg["To"] = self.mail_from
        msg["Subject"] = f"办公室补充附件：{filename}"
        msg[ACTOR_HEADER] = actor_label(actor)  # what the office did is never the unit's late delivery
        msg["Date"] = email.utils.format_datetime(self.clock())
        msg["Message-ID"] = email.utils.make_msgid(domain=self.own_domain)
        msg.set_content(f"{actor} 为 {unit} 补充的附件：{filename}\n来源：{origin or '上传'}\n", cte="base64")
        msg.add_attachment(data, maintype="application", subtype="octet-stream", filename=filename)
        record, _ = self.store.put_raw(
            msg.as_bytes(), source=OFFICE_SOURCE, source_ref=f"office:{unit}", received_at=received_at or self.clock()
        )
        self.store.audit(actor, "office.file_attached", unit, raw_id=record.id, filename=filename, origin=origin)
        return record

    # -- withdrawing and restoring a nominee: one home for the dashboard, the CLI and the bot -----
    def withdraw(self, unit: str, name: str, *, actor: str) -> NomineeAction:
        """Withdraw one of the unit's current nominees (RULES.md "Resubmissions": withdrawal is
        explicit). Kept as a submission of its own, so the merge applies it in arrival order and the
        nominee's files stay in the store. A ValueError (in Chinese) when `name` is no current
        nominee of the unit. The record is queued: the caller processes it (or the pipeline does)."""
        kind, found = withdraw_target(unit, self._dossier_to_act_on(unit), name)
        return self._nominee_action(unit, WITHDRAW, kind, found, actor)

    def restore(self, unit: str, name: str, *, actor: str) -> NomineeAction:
        """The office takes back a withdrawal; a ValueError (in Chinese) when `name` is not withdrawn,
        or when the actor is not the office (a unit cannot restore, in WeCom or by mail)."""
        if not is_office_actor(actor):
            raise ValueError(RESTORE_OFFICE_ONLY)
        kind, found = restore_target(unit, self._dossier_to_act_on(unit), name)
        return self._nominee_action(unit, RESTORE, kind, found, actor)

    def _dossier_to_act_on(self, unit: str) -> Dossier:
        """The unit's dossier as last evaluated: naming whom to act on needs no fresh evaluation
        (that comes when the action itself is processed)."""
        snapshot = self.store.latest_dossier(unit)
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
        record, _ = self.store.put_raw(data, source=OFFICE_SOURCE, source_ref=f"office:{unit}", received_at=now)
        self.store.audit(actor, AUDIT_ACTION[action], unit, name=name, kind=kind, raw_id=record.id)
        return NomineeAction(record=record, action=action, name=name, kind=kind)

    # -- processing -------------------------------------------------------------------------
    def recover(self) -> None:
        """After a crash or restart: messages and outbox rows left half-done go back to the queue."""
        self.store.requeue_stale(dt.timedelta(0))
        self.store.requeue_stale_outbox(dt.timedelta(0))
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
        done = 0
        while limit is None or done < limit:
            record = self.store.claim_next_raw(self.clock())
            if record is None:
                break
            self.process(record)
            done += 1
        return done

    def process(self, record: RawMessageRecord) -> None:
        try:
            self._process(record)
        except Exception as exc:  # the pipeline must never lose or drop a message
            log.exception("raw message %s quarantined", record.id)
            error = f"{type(exc).__name__}: {exc}"
            self.store.quarantine(record.id, error)  # audited by the store
            try:
                self._tell_quarantined(record, error)
            except Exception:  # telling must not undo keeping: the row is quarantined either way
                log.exception("could not tell about quarantined raw message %s", record.id)

    def _tell_quarantined(self, record: RawMessageRecord, error: str) -> None:
        """A quarantined mail waits for a person: the office is told what and why, the sender that
        their mail is safe (unless it came from a robot, which is never answered)."""
        subject = f"【待人工处理】来件 #{record.id} 处理出错"
        text = (
            f"来件 #{record.id}（发件人：{record.sender or '（无）'}，主题：{record.subject or '（无）'}，"
            f"来源：{record.source}）在自动处理时出错，已隔离，等待人工处理。\n"
            f"技术信息（供技术人员排查）：{mask_text(error)[:500]}\n"
            f"原始邮件已完整保存：store/{record.store_path}\n"
            f"问题解决后，可用 `nomdesk retry {record.id}` 重新处理；处理后系统会回复发件单位。\n"
        )
        self.replies.tell_office(f"office-quarantine:{record.id}:{record.attempts}", subject, text, record.id)
        if record.source not in ("imap", "maildir", "cli"):
            return  # WeCom and office files are answered in their own channel
        headers = message_headers(self.store.raw_path(record))
        ack = compose_quarantine_ack(self.campaign, now=self.clock())
        self.replies.enqueue(
            f"ack-quarantine:{record.id}", record, headers, ack, None, self.replies.suppression(headers)
        )

    def retry(self, raw_id: int, *, actor: str = "office") -> RawMessageRecord:
        """The office fixed what broke a quarantined mail: it goes through the pipeline again."""
        row = self.store.get_raw(raw_id)
        if row is None:
            raise KeyError(f"no raw message {raw_id}")
        if row.state != RawState.QUARANTINED:
            raise ValueError(f"raw message {raw_id} is {row.state}, not quarantined")
        row = self.store.mark_raw(raw_id, RawState.NEW)
        self.store.audit(actor, "raw.retried", None, raw_id=raw_id)
        return row

    def _process(self, record: RawMessageRecord) -> None:
        raw_path = self.store.raw_path(record)
        headers = message_headers(raw_path)
        if record.source == OFFICE_SOURCE:
            # Written by the office (a file it attached, a withdrawal): it joins the unit's dossier,
            # and the unit's contacts get its receipt by mail (the unit did not send it: no reply-to).
            row = self.store.submission_for_raw(record.id) or self._read_and_store(record, headers)
            if row.unit_name is not None:
                result = self.evaluate(row.unit_name)
                self.replies.mail_contacts(
                    OFFICE_RECEIPT_KEY.format(record.id), record, result, not_before=self.clock()
                )
            self.store.mark_raw(record.id, RawState.DONE)
            return
        suppression = self.replies.suppression(headers)
        robots = (
            "own_message",
            "delivery_status_report",
            "machine_report",
            "mailer_daemon",
            "auto_submitted",
            "null_return_path",
        )
        if suppression in robots:
            # An auto-reply, a bounce or our own message looping back: kept in the store, not a submission.
            self.store.mark_raw(record.id, RawState.IGNORED, f"not a submission: {suppression}")
            self.store.audit("intake", "raw.ignored", None, raw_id=record.id, reason=suppression)
            return

        submission_row = self.store.submission_for_raw(record.id) or self._read_and_store(record, headers)
        unit = submission_row.unit_name
        if unit is None:
            self._answer_unknown_sender(record, headers, submission_row, suppression)
        else:
            result = self.evaluate(unit)
            self.replies.answer(record, headers, result, suppression)
        self.store.mark_raw(record.id, RawState.DONE)

    def _read_and_store(self, record: RawMessageRecord, headers: email.message.Message) -> SubmissionRecord:
        workdir = Path(tempfile.mkdtemp(prefix=f"raw{record.id}-", dir=self.work_root))
        try:
            try:
                submission = read_submission(self.store.raw_path(record), workdir, self.campaign, 0)
            except SourceUnreadable as exc:
                # Nothing readable at all: still a submission (empty), so the unit hears about it.
                submission = Submission(
                    index=0, source=f"raw:{record.id}", sender=record.sender, subject=record.subject
                )
                submission.problems = []
                log.warning("raw message %s unreadable: %s", record.id, exc)
            submission.source = f"raw:{record.id}"
            office = headers if record.source == OFFICE_SOURCE else None
            take_actions(submission, office, words_count=record.source != "wecom")  # withdraw/restore
            files = [self.store.store_file(f) for f in submission.files]
            for file, stored in zip(submission.files, files, strict=True):
                file.local = self.store.file_path(stored)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

        # getaddresses gives [] for a mail without a From line, or one whose From holds nothing
        _, sender = next(iter(getaddresses([submission.sender or record.sender or ""])), ("", ""))
        sender = sender.lower()
        wecom_user = wecom_user_of(record)
        if record.source == OFFICE_SOURCE and record.source_ref:
            unit_name = record.source_ref.split(":", 1)[1]
        elif wecom_user is not None:
            unit_name = self.store.unit_of_wecom_user(wecom_user)
        else:
            unit_name = self.store.unit_of_address(sender) if sender else None
        guess = None
        if unit_name is None:
            guess = resolve_unit([submission], self.campaign).name
        row, _ = self.store.add_submission(
            record.id,
            unit_name=unit_name,
            arrived_at=record.received_at,
            unit_confirmed=unit_name is not None,
            summary={"submission": submission.model_dump(mode="json"), "unit_guess": guess},
            files=files,
        )
        self.store.audit(
            "intake",
            "submission.read",
            unit_name,
            raw_id=record.id,
            files=len(submission.files),
            problems=len(submission.problems),
            unit_guess=guess,
        )
        return row

    def unit_submissions(self, unit: str, rows: list[SubmissionRecord] | None = None) -> list[Submission]:
        """The unit's submissions in arrival order, read from `rows` (default: the store's)."""
        subs: list[Submission] = []
        rows = self.store.unit_submissions(unit) if rows is None else rows
        # One query for every stored file of the unit: a unit's 20th mail must not cost 20 reads.
        stored_files = self.store.files_of_submissions([row.id for row in rows if row.id is not None])
        for index, row in enumerate(rows):
            data = row.summary.get("submission")
            if not data:
                continue
            sub = Submission.model_validate(data)
            by_path = {f.path: f for f in stored_files.get(row.id or 0, [])}
            for file in sub.files:
                stored = by_path.get(file.path)
                if stored is not None:
                    file.local = self.store.file_path(stored)
            sub.arrived_at = row.arrived_at
            subs.append(reindex(sub, index, copy=False))  # its place among the unit's stored submissions
        return merge_wecom_bursts(subs)

    def evaluate(self, unit: str) -> CheckResult:
        """Re-check the unit's whole dossier (all its submissions merged) and keep the result.

        The dossier is built once: the other units' nominees it duplicates are looked up from it,
        then every rule runs once. Each submission carries its reference ("长春-07")."""
        rows = self.store.unit_submissions(unit)
        submissions = self.unit_submissions(unit, rows)
        config_unit = self.campaign.unit_by_exact_name(unit)
        resolution = UnitResolution(
            name=unit,
            kind=config_unit.kind if config_unit else UnitKind.OTHER,
            known=config_unit is not None,
            how="sender",
            sender_registered=True,
        )
        dossier = build_dossier(
            submissions, self.campaign, resolution, is_exemplar_mark, paper_received=self.store.paper_received(unit)
        )
        dossier.other_unit_nominees = self.store.cross_unit_duplicates(unit, dossier)
        raw_index = self._number_submissions(unit, rows, dossier)
        findings = run_rules(dossier, self.campaign)
        version = self.store.save_evaluation(unit, dossier, findings, raw_ids=raw_index)
        return CheckResult(dossier=dossier, findings=findings, version=version, raw_index=raw_index)

    def _number_submissions(self, unit: str, rows: list[SubmissionRecord], dossier: Dossier) -> dict[int, int]:
        """Give each of the dossier's submissions its reference, "<short unit name>-<NN>" from the
        unit's numbering of its submissions (`unit_index`; a WeCom run takes its first file's), and
        return raw message id -> index of the dossier's submission it is part of."""
        short = self.campaign.short_name(unit)
        starts = sorted(meta.index for meta in dossier.submissions)
        raw_index: dict[int, int] = {}
        numbers: dict[int, int] = {}
        for position, row in enumerate(rows):  # positions are the indices unit_submissions gave
            if not row.summary.get("submission"):
                continue
            index = max((i for i in starts if i <= position), default=None)
            if index is None:
                continue
            raw_index[row.raw_message_id] = index
            numbers.setdefault(index, row.unit_index or position + 1)
        for meta in dossier.submissions:
            if meta.index in numbers:
                meta.ref = submission_ref(short, numbers[meta.index])
        return raw_index

    def _answer_unknown_sender(self, record, headers, row: SubmissionRecord, suppression: str | None) -> None:
        reply = compose_unknown_sender_reply(self.campaign, now=self.clock())
        self.replies.enqueue(f"reply:{record.id}", record, headers, reply, None, suppression)
        self.store.audit(
            "intake",
            "unit.unknown",
            None,
            raw_id=record.id,
            submission_id=row.id,
            unit_guess=row.summary.get("unit_guess"),
        )
        subject = f"【待确认】未登记邮箱来件：{record.sender or '（无发件人）'}"
        text = (
            f"收到未登记邮箱 {record.sender or '（无发件人）'} 的来件（主题：{record.subject or '（无）'}）。\n"
            f"系统推测所属单位：{row.summary.get('unit_guess') or '无法推测'}。\n"
            f"请核实后用 `nomdesk assign {row.id} 单位全称` 确认，确认后系统将检查材料并回复。\n"
        )
        self.replies.tell_office(f"office-unknown:{record.id}", subject, text, record.id)

    def assign(self, submission_id: int, unit: str, *, actor: str = "office") -> CheckResult:
        """The office confirms an unknown sender's unit: the mail joins that dossier and is answered."""
        config_unit = self.campaign.unit_by_exact_name(unit) or self.campaign.unit_named(unit)
        name = config_unit.name if config_unit else unit
        row = self.store.assign_submission_unit(submission_id, name, actor=actor)
        record = self.store.get_raw(row.raw_message_id)
        result = self.evaluate(name)
        if record is not None:
            headers = message_headers(self.store.raw_path(record))
            reply = self.replies.receipt(name, result, record)
            suppression = self.replies.suppression(headers)
            self.replies.enqueue(
                f"reply-assigned:{record.id}",
                record,
                headers,
                reply,
                name,
                suppression,
                evaluation_version=result.version,
            )
        return result
