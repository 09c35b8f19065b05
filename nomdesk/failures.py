"""What the pipeline does with a mail whose processing failed: try again later, or hand it to a person.

A transient failure (config/faults.py: a full disk, a permission, an I/O error, a locked or
unreachable database) is retried with backoff for as long as it lasts: the mail is not
quarantined, its unit is told nothing (its receipt comes when the mail goes through), and the
office hears once, after `retry_notice_after_hours` of it, that the server needs a look.
A deterministic failure is retried too (the cause may have been a race), but the third one of
the same mail quarantines it: the office is told what broke, the unit that a person will look.
A worker killed while on a mail counts as such a failure (its claim is an attempt).
A "transient" error can be the mail's own doing (an archive entry with mode 000 gives EACCES in
the work folder every time): after `retry_give_up_after_hours` of transient failures the mail is
quarantined like a deterministic one, so nothing retries forever.
When the failure cannot be written because the database itself is down, its outcome is kept in
memory and written first thing once the store answers (`record_unwritten`): the claim left
"processing" must not be taken for a killed worker (a deterministic failure) once its lease runs out.

Retrying is safe because the pipeline is idempotent (nomdesk/desk.py): the submission is keyed
by the raw message, every reply and notice by its outbox key, and the files a failed attempt
stored are content-addressed, so a second try finds and reuses what the first one finished.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable

from config.campaign import Campaign
from config.faults import backoff_seconds, failures_spanning, is_transient
from config.masking import mask_text
from config.settings import Settings
from intake.headers import message_headers
from nomdesk.held import SenderHolds
from notify.letters import compose_quarantine_ack
from notify.replies import Replies
from storage.raw import deterministic_failures
from storage.repo import Store
from storage.tables import RawMessageRecord, RawState

log = logging.getLogger(__name__)

# The third deterministic failure of one mail quarantines it (issue 13): one failure may be a race
# with the office or another process, three in a row at growing intervals are the mail itself.
QUARANTINE_AFTER = 3
STUCK_NOTICE_KEY = "office-transient:{}"  # the office's one notice about a mail that keeps failing


class Unwritten:
    """A failure `defer` could not write (the database was down): written when the store is back."""

    def __init__(self, error: str, retry_at: dt.datetime, transient: bool) -> None:
        self.error, self.retry_at, self.transient = error, retry_at, transient


class FailedMail:
    """Decides and records what happens to a mail whose processing raised."""

    def __init__(
        self,
        settings: Settings,
        campaign: Campaign,
        store: Store,
        replies: Replies,
        clock: Callable[[], dt.datetime],
        holds: SenderHolds | None = None,
    ) -> None:
        """`holds`: the desk's sender judge, so a quarantined mail's sender is not acknowledged when
        the mail is held or an unknown sender's mail failed authentication (no backscatter)."""
        self.settings = settings
        self.holds = holds
        self.campaign = campaign
        self.store = store
        self.replies = replies
        self.clock = clock
        self.unwritten: dict[int, Unwritten] = {}  # raw id -> its failure the database did not take
        self._writing = threading.Lock()  # the pipeline and the housekeeping both write them: once each

    def handle(self, record: RawMessageRecord, exc: Exception) -> None:
        """`record` is the row as claimed (its `attempts` count this claim)."""
        error = f"{type(exc).__name__}: {exc}"
        transient = is_transient(exc)
        failures = record.transient_failures + 1 if transient else deterministic_failures(record)
        gave_up = transient and failures >= self._give_up_after()
        if gave_up or (not transient and failures >= QUARANTINE_AFTER):
            log.error("raw message %s quarantined after %d failures", record.id, failures, exc_info=exc)
            if gave_up:
                hours = self.settings.retry_give_up_after_hours
                error += f"（已连续约 {hours:g} 小时、{failures} 次遇到同类错误，已停止自动重试）"
            if self.store.raw.quarantine(record.id, error, worker=record.claimed_by) is None:
                return  # another desk took it over (this one's lease ran out): its outcome stands
            try:
                self.tell_quarantined(record, error)
            except Exception:  # telling must not undo keeping: the row is quarantined either way
                log.exception("could not tell about quarantined raw message %s", record.id)
            return
        delay = backoff_seconds(
            failures, first=self.settings.retry_backoff_seconds, cap=self.settings.retry_backoff_max_seconds
        )
        retry_at = self.clock() + dt.timedelta(seconds=delay)
        try:
            row = self.store.raw.defer(
                record.id, error, retry_at, transient=transient, was=record.state, worker=record.claimed_by
            )
        except Exception as down:  # the database is what failed: keep the outcome until it is back
            if record.id is not None and record.state == RawState.PROCESSING:
                self.unwritten[record.id] = Unwritten(error, retry_at, transient)
            log.warning("raw message %s: its failure could not be recorded (%s); kept for later", record.id, down)
            return
        kind = "transient" if transient else "deterministic"
        if transient and failures > 1:  # logged once a run; the row keeps the latest error
            log.info("raw message %s: %s failure %d again, retried at %s", record.id, kind, failures, retry_at)
        elif transient:
            log.warning("raw message %s: %s failure, retried at %s: %s", record.id, kind, retry_at, mask_text(error))
        else:
            log.warning("raw message %s: failure %d, retried at %s", record.id, failures, retry_at, exc_info=exc)
        if transient and row is not None and row.transient_failures == self._stuck_after():
            try:
                self._tell_office_stuck(row, error)
            except Exception:  # the store may be what is failing: the retry goes on regardless
                log.exception("could not tell the office about raw message %s", record.id)

    def record_unwritten(self) -> None:
        """Write the failures the database did not take, before anything else is claimed (the
        housekeeping's `take_back_expired` would count those claims as killed workers). Stops at the
        first that fails again: the database is still down, and the next pass tries again."""
        with self._writing:
            for raw_id, failure in list(self.unwritten.items()):
                try:
                    self.store.raw.defer(raw_id, failure.error, failure.retry_at, transient=failure.transient)
                except Exception:
                    log.debug("raw message %s: store still unavailable", raw_id, exc_info=True)
                    return
                del self.unwritten[raw_id]  # recorded, or the row left "processing" meanwhile (requeued)

    def _give_up_after(self) -> int:
        hours = self.settings.retry_give_up_after_hours
        first, cap = self.settings.retry_backoff_seconds, self.settings.retry_backoff_max_seconds
        return failures_spanning(hours * 3600, first=first, cap=cap)

    def _stuck_after(self) -> int:
        hours = self.settings.retry_notice_after_hours
        first, cap = self.settings.retry_backoff_seconds, self.settings.retry_backoff_max_seconds
        return failures_spanning(hours * 3600, first=first, cap=cap)

    def _tell_office_stuck(self, record: RawMessageRecord, error: str) -> None:
        """Once per mail: it has hit a disk or database error for a day; nothing is lost, the desk
        keeps trying, but the server needs a person (space, permissions, the database)."""
        hours = self.settings.retry_notice_after_hours
        every = round(self.settings.retry_backoff_max_seconds / 60)
        subject = f"【请检查服务器】来件 #{record.id} 反复遇到磁盘或数据库错误"
        text = (
            f"来件 #{record.id}（发件人：{record.sender or '（无）'}，主题：{_subject(record)}）"
            f"已连续约 {hours:g} 小时（{record.transient_failures} 次）在处理时遇到磁盘或数据库错误"
            "（如磁盘已满、目录无权限、读写出错、数据库被锁或无法连接）。\n"
            f"邮件已完整保存，未隔离；系统仍在自动重试（约每 {every} 分钟一次），发件单位尚未收到回执。\n"
            "请检查服务器磁盘空间、数据目录权限和数据库；问题排除后，系统会自动处理并回复发件单位。\n"
            f"最近一次错误（供技术人员排查）：{mask_text(error)[:500]}\n"
        )
        self.replies.tell_office(STUCK_NOTICE_KEY.format(record.id), subject, text, record.id or 0)

    def tell_quarantined(self, record: RawMessageRecord, error: str) -> None:
        """A quarantined mail waits for a person: the office is told what and why, the sender that
        their mail is safe (unless it came from a robot, which is never answered, or its sender may be
        forged: nomdesk.held `answers_quarantined`)."""
        subject = f"【待人工处理】来件 #{record.id} 处理出错"
        text = (
            f"来件 #{record.id}（发件人：{record.sender or '（无）'}，主题：{_subject(record)}，"
            f"来源：{record.source}）在自动处理时出错，已隔离，等待人工处理。\n"
            f"技术信息（供技术人员排查）：{mask_text(error)[:500]}\n"
            f"原始邮件已完整保存（文件库中的编号 {record.sha256}）。\n"
            f"问题解决后，可用 `nomdesk retry {record.id}` 重新处理；处理后系统会回复发件单位。\n"
        )
        self.replies.tell_office(f"office-quarantine:{record.id}:{record.attempts}", subject, text, record.id or 0)
        if not self.replies.acknowledges_quarantine(record):
            return
        if self.holds is not None and not self.holds.answers_quarantined(record):
            log.info("raw message %s: its sender is not acknowledged (held or unauthenticated)", record.id)
            return
        headers = message_headers(self.store.raw.path(record))
        ack = compose_quarantine_ack(self.campaign, now=self.clock())
        self.replies.enqueue(
            f"ack-quarantine:{record.id}", record, headers, ack, None, self.replies.suppression(headers)
        )


def _subject(record: RawMessageRecord) -> str:
    """The mail's subject as a notice quotes it: a unit may put a phone or ID number in it."""
    return mask_text(record.subject or "") or "（无）"
