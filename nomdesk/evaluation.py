"""Checking a unit's whole dossier, and what follows from a check that did not finish.

Every check of a unit merges all its submissions into one dossier, runs every rule once and
keeps the result as the unit's next evaluation. A rule that raised leaves the unit 检查未完成
(never 材料齐全): the office is told once per failure, and the unit's receipt says the package
is being checked by hand and "核查结果将另行告知". That promise is kept here: when a re-check (a
restart with the fixed rule, paper copies recorded, a void) clears the error the unit was told
about, its registered contacts get the receipt of the finished check.

Re-checks run on the pipeline's thread (`recheck_pending`); one that meets a transient error (a
full disk, a database that went away) stays requested and is tried again after a backoff, so a
void's rebuild does not wait for the unit's next mail, and the pipeline does not spin on it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from contextlib import AbstractContextManager

from config.campaign import Campaign, UnitKind, submission_ref
from config.faults import backoff_seconds, is_transient
from config.masking import mask_text
from config.settings import Settings
from intake.dossier import build_dossier
from intake.models import Dossier, Submission
from intake.nominees import cross_unit_duplicates
from intake.unit import UnitResolution
from nomdesk.stored import merge_wecom_bursts, reindex
from nomdesk.volumes import Read, VolumeJoins
from notify.replies import Replies
from storage.repo import Store
from storage.submissions import VOLUME_KIND
from storage.tables import RawMessageRecord, SubmissionRecord
from validators import check_dossier
from validators.result import CheckResult, RuleError
from validators.rules.exemplar import is_exemplar_mark

log = logging.getLogger(__name__)

RECHECK_RECEIPT_KEY = "reply-recheck:{}:{}"  # the receipt of a re-check that finished (unit, version)
RECEIPT_KINDS = {"mail": "reply", "wecom": "wecom-reply"}  # what the unit has been told (outbox keys)
VOLUME_JOIN_CODE = "ARCHIVE_PART_MISSING"  # a volume join that raised is reported as this rule's error


class Evaluation:
    """The desk's checks of units: evaluate, re-check on request, tell about unfinished checks."""

    def __init__(
        self,
        settings: Settings,
        campaign: Campaign,
        store: Store,
        replies: Replies,
        clock: Callable[[], dt.datetime],
    ) -> None:
        self.settings = settings
        self.campaign = campaign
        self.store = store
        self.replies = replies
        self.clock = clock
        self._waits: dict[str, tuple[int, dt.datetime]] = {}  # unit -> (transient failures, not before)
        self.volumes = VolumeJoins(campaign, store, settings.data_dir / "work")

    # -- re-checks ----------------------------------------------------------------------------
    def recheck_pending(self) -> int:
        """Check again the units waiting for it (paper copies arrived, a void, a restart after an
        unfinished check); how many were done. One that failed transiently is not done and not
        counted (the pipeline then waits its poll): it is tried again after its backoff."""
        done = 0
        for unit, token in self.store.state.rechecks():
            now = self.clock()
            failures, not_before = self._waits.get(unit, (0, now))
            if not_before > now:
                continue
            try:
                self.recheck(unit)
            except Exception as exc:
                if is_transient(exc):  # the disk or the database, not the dossier: the request stays
                    delay = backoff_seconds(
                        failures + 1,
                        first=self.settings.retry_backoff_seconds,
                        cap=self.settings.retry_backoff_max_seconds,
                    )
                    self._waits[unit] = (failures + 1, now + dt.timedelta(seconds=delay))
                    log.warning("re-check of %s failed, tried again in %.0f s: %s", unit, delay, mask_text(str(exc)))
                    continue
                log.exception("re-check of %s failed", unit)  # the unit's next mail checks it again
            self._waits.pop(unit, None)
            self.store.state.recheck_done(unit, token)
            done += 1
        return done

    def recheck(self, unit: str) -> CheckResult:
        """Evaluate the unit again; if that finished a check the unit was told is being done by hand,
        its registered contacts get the receipt of the finished check (the promised 另行告知)."""
        with self.serialised(unit):
            told = self._told_incomplete(unit)
            result = self.evaluate(unit)
            if told is not None and not result.incomplete:
                key = RECHECK_RECEIPT_KEY.format(unit, result.version)
                self.replies.mail_contacts(key, told, result, not_before=self.clock())
            return result

    def serialised(self, unit: str) -> AbstractContextManager[None]:
        """One unit's check and the reply decided from it, in one process at a time.

        Two desk processes taking two mails of one unit at once would each evaluate a dossier
        (the second may miss the first's submission, or both save the same version number) and
        each compare its receipt with a "last reply" the other is writing. Under this lock (a
        cross-process one, storage/locks.py) the second waits, then evaluates a dossier holding
        both mails and compares against the first's receipt. The caller holds it from the
        evaluation to the reply it queues (nomdesk/desk.py); re-entrant in one thread."""
        return self.store.locks.hold(f"unit:{unit}")

    def _told_incomplete(self, unit: str) -> RawMessageRecord | None:
        """The mail whose receipt, the unit's latest, said its check had not finished; else None."""
        last = self.store.outbox.last_receipt(unit, now=self.clock(), kinds=RECEIPT_KINDS)
        if last is None or last.evaluation_version is None or last.raw_message_id is None:
            return None
        snapshot = self.store.evaluations.dossier_version(unit, last.evaluation_version)
        if snapshot is None or not snapshot.check_error:
            return None
        return self.store.raw.get(last.raw_message_id)

    # -- one check ------------------------------------------------------------------------------
    def read_rows(self, rows: list[SubmissionRecord]) -> list[Read]:
        """Each stored row with a reading and its submission, placed at its row's position, its
        files' and volumes' bytes the stored ones; WeCom bursts not merged yet (a volume join
        writes back to the one row that completed a set)."""
        reads: list[Read] = []
        # One query for every stored file of the unit: a unit's 20th mail must not cost 20 reads.
        stored_files = self.store.submissions.files_of([row.id for row in rows if row.id is not None])
        for index, row in enumerate(rows):
            data = row.summary.get("submission")
            if not data:
                continue
            sub = Submission.model_validate(data)
            kept = stored_files.get(row.id or 0, [])
            by_path = {f.path: f for f in kept if f.kind != VOLUME_KIND}
            volumes = {f.path: f for f in kept if f.kind == VOLUME_KIND}
            for file, found in [*((f, by_path) for f in sub.files), *((v, volumes) for v in sub.volumes)]:
                stored = found.get(file.path)
                if stored is not None:
                    file.local = self.store.submissions.file_path(stored)
            sub.arrived_at = row.arrived_at
            reads.append((row, reindex(sub, index, copy=False)))  # its place among the unit's stored submissions
        return reads

    def evaluate(self, unit: str) -> CheckResult:
        """Re-check the unit's whole dossier (all its submissions merged) and keep the result.

        The dossier is built once: the other units' nominees it duplicates are looked up from it,
        then every rule runs once. Each submission carries its reference ("长春-07")."""
        with self.serialised(unit):
            return self._evaluate(unit)

    def _evaluate(self, unit: str) -> CheckResult:
        rows = self.store.submissions.of_unit(unit)
        rows, reads, join_error = self._join_volumes(unit, rows, self.read_rows(rows))
        submissions = merge_wecom_bursts([sub for _, sub in reads])
        config_unit = self.campaign.unit_by_exact_name(unit)
        resolution = UnitResolution(
            name=unit,
            kind=config_unit.kind if config_unit else UnitKind.OTHER,
            known=config_unit is not None,
            how="sender",
            sender_registered=True,
        )
        dossier = build_dossier(
            submissions,
            self.campaign,
            resolution,
            is_exemplar_mark,
            paper_received=self.store.state.paper_received(unit),
        )
        dossier.other_unit_nominees = cross_unit_duplicates(unit, dossier, self.store.evaluations)
        raw_index = self._number_submissions(unit, rows, dossier)
        run = check_dossier(dossier, self.campaign)
        failures = [*run.failures, *([join_error] if join_error is not None else [])]
        result = CheckResult(dossier=dossier, findings=run.findings, rule_errors=failures, raw_index=raw_index)
        # A rule that raised: the unit is 检查未完成 until an evaluation without one (never 材料齐全).
        before = self.store.evaluations.check_error(unit) if result.incomplete else None
        result.version = self.store.evaluations.save(
            unit, dossier, run.findings, raw_ids=raw_index, check_error=result.check_error
        )
        if result.incomplete and result.check_error != before:
            self._tell_office_check_failed(unit, result)
        return result

    def _join_volumes(
        self, unit: str, rows: list[SubmissionRecord], reads: list[Read]
    ) -> tuple[list[SubmissionRecord], list[Read], RuleError | None]:
        """The unit's rows and readings after joining the volume sets its mails made whole (read
        again from the store when a join changed them). A join that raised (a bug, not the disk) is
        the check's like a rule that raised: the unit is 检查未完成, the office is told, and the
        re-check after a restart (how a fix is deployed) joins it; the mail is not lost meanwhile."""
        error: RuleError | None = None
        try:
            if not self.volumes.join(unit, reads):
                return rows, reads, None
        except Exception as exc:
            if is_transient(exc):
                raise
            log.exception("joining the volume sets of %s failed", unit)
            error = RuleError.of(VOLUME_JOIN_CODE, exc)
        rows = self.store.submissions.of_unit(unit)  # the join's (or, when it raised, none of its half-changes)
        return rows, self.read_rows(rows), error

    def _tell_office_check_failed(self, unit: str, result: CheckResult) -> None:
        """Once per failure (not per mail while it lasts): the office checks the package by hand, and
        the error (masked) goes to whoever fixes the rule. The unit's receipt says the same."""
        subject = f"【检查未完成】{unit}：自动检查出错，请人工核查"
        text = (
            f"{unit} 的材料在自动检查时有规则出错，检查未完成（第 {result.version} 次检查）：\n"
            f"{mask_text(result.check_error or '')}\n"
            "其余规则的结果已保存，但出错规则负责的内容没有检查，不能据此认定“材料齐全”。\n"
            "该单位的回执已告知材料已收到、正在由省级办公室人工核查。请人工核查该单位的材料，"
            "并把上面的技术信息转交技术人员；问题修复后，该单位下一次检查通过即恢复正常状态。\n"
        )
        self.replies.queue(
            f"office-check-incomplete:{unit}:{result.version}",
            channel="mail",
            recipients=[self.campaign.office.email],
            subject=subject,
            text=text,
            not_before=self.clock(),  # no unit: a notice to the office, not one of the unit's replies
        )

    def _number_submissions(self, unit: str, rows: list[SubmissionRecord], dossier: Dossier) -> dict[int, int]:
        """Give each of the dossier's submissions its reference, "<short unit name>-<NN>" from the
        unit's numbering of its submissions (`unit_index`; a WeCom run takes its first file's), and
        return raw message id -> index of the dossier's submission it is part of."""
        short = self.campaign.short_name(unit)
        starts = sorted(meta.index for meta in dossier.submissions)
        raw_index: dict[int, int] = {}
        numbers: dict[int, int] = {}
        for position, row in enumerate(rows):  # positions are the indices read_rows gave
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
