"""What the pipeline does with a mail whose processing failed: try again later, or hand it to a person.

A transient failure (config/faults.py: a full disk, a permission, an I/O error, a locked or
unreachable database) is retried with backoff for as long as it lasts: the mail is not
quarantined, its unit is told nothing (its receipt comes when the mail goes through), and the
office hears once, after `retry_notice_after_hours` of it, that the server needs a look.
A deterministic failure is retried too (the cause may have been a race), but the third one of
the same mail quarantines it: the office is told what broke, the unit that a person will look.
A worker killed while on a mail counts as such a failure (its claim is an attempt).

Retrying is safe because the pipeline is idempotent (nomdesk/desk.py): the submission is keyed
by the raw message, every reply and notice by its outbox key, and the files a failed attempt
stored are content-addressed, so a second try finds and reuses what the first one finished.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from config.campaign import Campaign
from config.faults import backoff_seconds, failures_spanning, is_transient
from config.masking import mask_text
from config.settings import Settings
from intake.headers import message_headers
from notify.letters import compose_quarantine_ack
from notify.replies import Replies
from storage.raw import deterministic_failures
from storage.repo import Store
from storage.tables import RawMessageRecord

log = logging.getLogger(__name__)

# The third deterministic failure of one mail quarantines it (issue 13): one failure may be a race
# with the office or another process, three in a row at growing intervals are the mail itself.
QUARANTINE_AFTER = 3
STUCK_NOTICE_KEY = "office-transient:{}"  # the office's one notice about a mail that keeps failing


class FailedMail:
    """Decides and records what happens to a mail whose processing raised."""

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

    def handle(self, record: RawMessageRecord, exc: Exception) -> None:
        """`record` is the row as claimed (its `attempts` count this claim)."""
        error = f"{type(exc).__name__}: {exc}"
        transient = is_transient(exc)
        failures = record.transient_failures + 1 if transient else deterministic_failures(record)
        if not transient and failures >= QUARANTINE_AFTER:
            log.error("raw message %s quarantined after %d failures", record.id, failures, exc_info=exc)
            self.store.raw.quarantine(record.id, error)  # audited by the store
            try:
                self.tell_quarantined(record, error)
            except Exception:  # telling must not undo keeping: the row is quarantined either way
                log.exception("could not tell about quarantined raw message %s", record.id)
            return
        delay = backoff_seconds(
            failures, first=self.settings.retry_backoff_seconds, cap=self.settings.retry_backoff_max_seconds
        )
        retry_at = self.clock() + dt.timedelta(seconds=delay)
        row = self.store.raw.defer(record.id, error, retry_at, transient=transient, was=record.state)
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
            f"来件 #{record.id}（发件人：{record.sender or '（无）'}，主题：{record.subject or '（无）'}）"
            f"已连续约 {hours:g} 小时（{record.transient_failures} 次）在处理时遇到磁盘或数据库错误"
            "（如磁盘已满、目录无权限、读写出错、数据库被锁或无法连接）。\n"
            f"邮件已完整保存，未隔离；系统仍在自动重试（约每 {every} 分钟一次），发件单位尚未收到回执。\n"
            "请检查服务器磁盘空间、数据目录权限和数据库；问题排除后，系统会自动处理并回复发件单位。\n"
            f"最近一次错误（供技术人员排查）：{mask_text(error)[:500]}\n"
        )
        self.replies.tell_office(STUCK_NOTICE_KEY.format(record.id), subject, text, record.id or 0)

    def tell_quarantined(self, record: RawMessageRecord, error: str) -> None:
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
        self.replies.tell_office(f"office-quarantine:{record.id}:{record.attempts}", subject, text, record.id or 0)
        if not self.replies.acknowledges_quarantine(record):
            return
        headers = message_headers(self.store.raw.path(record))
        ack = compose_quarantine_ack(self.campaign, now=self.clock())
        self.replies.enqueue(
            f"ack-quarantine:{record.id}", record, headers, ack, None, self.replies.suppression(headers)
        )
