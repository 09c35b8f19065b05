"""Sending what the outbox holds: by SMTP when a server is configured, else as .eml files.

The outbox row is the promise; this worker keeps it. Each message is claimed once,
sent, then marked sent; SMTP down means a retry later with backoff, a permanent
refusal means "failed" for the office to see. A crash between the server's OK and
the mark can resend once: the stored .eml keeps its Message-ID, so the repeat is the
same message. Without SMTP the .eml is written under a name fixed by the outbox id,
so a rerun rewrites the same file and never makes a second reply.
"""

from __future__ import annotations

import datetime as dt
import email.policy
import logging
import os
import tempfile
from collections.abc import Callable
from email.parser import BytesParser
from pathlib import Path
from typing import Protocol

from config.masking import mask_address
from notify.smtp import SmtpRejected, SmtpSender, SmtpUnavailable, next_backoff
from storage.repo import Store
from storage.tables import OutboxRecord

log = logging.getLogger(__name__)


class ChannelSender(Protocol):
    """Sends one outbox row's text to its recipients on a chat channel (WeCom app, group robot)."""

    def __call__(self, recipients: list[str], text: str) -> None: ...


PARTIAL_PREFIX = ".partial-"


class OutboxWorker:
    def __init__(
        self,
        store: Store,
        *,
        smtp: SmtpSender | None,
        outbox_dir: Path,
        clock: Callable[[], dt.datetime],
        channels: dict[str, ChannelSender] | None = None,
        lease: dt.timedelta | None = None,
    ) -> None:
        """`lease`: how long each claimed row is this process's (real time; renewed by the
        service's heartbeat); None: NOMDESK_LEASE_SECONDS (storage/leases.py)."""
        self.store = store
        self.lease = lease
        self.smtp = smtp
        self.outbox_dir = outbox_dir
        self.clock = clock
        self.channels = channels or {}  # "wecom", "webhook": rows of a channel with no sender wait
        outbox_dir.mkdir(parents=True, exist_ok=True)
        self._sweep_partial_files()

    def _sweep_partial_files(self) -> None:
        """A desk killed while writing a reply leaves its partial file; the row is still "sending"
        and is written again whole (same name), so the partial one is only debris."""
        for leftover in self.outbox_dir.glob(PARTIAL_PREFIX + "*"):
            leftover.unlink(missing_ok=True)

    def run_once(self, limit: int = 20, only_keys: list[str] | None = None) -> int:
        """Send what is due now (of `only_keys`, when given); returns how many were sent."""
        sent = 0
        rows = self.store.outbox.claim(
            self.clock(), limit, channels=["mail", *self.channels], dedupe_keys=only_keys, lease=self.lease
        )
        for row in rows:
            ok = self._send(row) if row.channel == "mail" else self._send_chat(row)
            if ok:
                self._log_sent(row)
            sent += ok
        return sent

    def _log_sent(self, row: OutboxRecord) -> None:
        """The operator's log answers "was she answered, and when?" without her whole address."""
        if row.channel != "mail":
            how = row.channel
        else:
            how = "SMTP" if self.smtp is not None else f"file {self.outbox_dir / f'{row.id:06d}.eml'}"
        to = ", ".join(mask_address(r) for r in row.recipients) or "nobody"
        log.info("outbox %s sent (%s, %s) to %s: %s", row.id, how, row.dedupe_key, to, row.unit_name or "-")

    def _send_chat(self, row: OutboxRecord) -> bool:
        try:
            self.channels[row.channel](list(row.recipients), row.body_text)
        except Exception as exc:  # the chat APIs fail in many ways; all but the permanent are retried
            if getattr(exc, "permanent", False):
                log.error("outbox %s: %s refused for good: %s", row.id, row.channel, exc)
                self.store.outbox.mark_failed(row.id, f"{type(exc).__name__}: {exc}", None, worker=row.claimed_by)
                return False
            retry_at = self.clock() + next_backoff(row.attempts)
            log.warning("outbox %s: %s send failed, retry at %s: %s", row.id, row.channel, retry_at, exc)
            self.store.outbox.mark_failed(row.id, f"{type(exc).__name__}: {exc}", retry_at, worker=row.claimed_by)
            return False
        self.store.outbox.mark_sent(row.id, self.clock(), worker=row.claimed_by)
        return True

    def _send(self, row: OutboxRecord) -> bool:
        eml = self.store.outbox.eml(row)
        if eml is None:
            self.store.outbox.mark_failed(row.id, "no message stored for this outbox row", worker=row.claimed_by)
            return False
        try:
            if self.smtp is not None:
                message = BytesParser(policy=email.policy.SMTP).parsebytes(eml)
                self.smtp.send(message, list(row.recipients))
            else:
                self._write_file(row, eml)
        except SmtpUnavailable as exc:
            retry_at = self.clock() + next_backoff(row.attempts)
            log.warning("outbox %s: SMTP unavailable, retry at %s: %s", row.id, retry_at, exc)
            self.store.outbox.mark_failed(row.id, str(exc), retry_at, worker=row.claimed_by)
            return False
        except SmtpRejected as exc:
            log.error("outbox %s: refused by the SMTP server: %s", row.id, exc)
            self.store.outbox.mark_failed(row.id, str(exc), None, worker=row.claimed_by)
            return False
        except Exception as exc:  # a full disk, a broken stored message: this row waits, the others go on
            retry_at = self.clock() + next_backoff(row.attempts)
            log.exception("outbox %s: could not send, retry at %s", row.id, retry_at)
            self.store.outbox.mark_failed(row.id, f"{type(exc).__name__}: {exc}", retry_at, worker=row.claimed_by)
            return False
        self.store.outbox.mark_sent(row.id, self.clock(), worker=row.claimed_by)
        return True

    def _write_file(self, row: OutboxRecord, eml: bytes) -> Path:
        target = self.outbox_dir / f"{row.id:06d}.eml"
        # Never "*.eml" until whole: whatever reads the folder takes only finished replies.
        fd, tmp = tempfile.mkstemp(dir=self.outbox_dir, prefix=PARTIAL_PREFIX, suffix=".part")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(eml)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return target
