"""IMAP intake: copy every new message of one folder to disk, byte for byte, and hand it on.

Progress is (UIDVALIDITY, last UID handed to the sink) per folder, advanced only after
the sink returned, so a crash re-delivers at most one message and never skips one.
Mail is fetched with BODY.PEEK (never \\Seen: people read the same mailbox in webmail)
in fixed-size partial fetches written straight to a spool file, so a 200 MB package
costs one chunk of memory. Processed mail gets a keyword; nothing is ever deleted.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import imaplib
import json
import logging
import os
import random
import socket
import ssl
import tempfile
import threading
import time
from pathlib import Path

from imapclient import IMAPClient

from intake.sources.base import IncomingRef, MailboxStateStore, Sink, fsync_dir

log = logging.getLogger(__name__)

CHUNK_SIZE = 8 * 1024 * 1024
PROCESSED_FLAG = b"$NomdeskProcessed"


class ConnectionLost(Exception):
    """The server went away without saying so (an IDLE that ended early with nothing)."""


class IncompleteDownload(ConnectionLost):
    """A message came down shorter (or longer) than the server said: fetched again on reconnect."""


SIZE_MISMATCH_TRIES = 3
KEEPALIVE_IDLE_SECONDS = 60
KEEPALIVE_INTERVAL_SECONDS = 15
KEEPALIVE_PROBES = 4

# Anything here means "drop the connection, back off, reconnect, reselect, catch up".
RECONNECT_ERRORS: tuple[type[BaseException], ...] = (
    OSError,  # includes socket.timeout, ssl.SSLError, ConnectionError
    imaplib.IMAP4.abort,  # IMAPClientAbortError: EOF, BYE
    imaplib.IMAP4.error,  # NO/BAD on login/select: retried too, the server may be restarting
    ConnectionLost,
)


def _keep_alive(sock: socket.socket) -> None:
    """A connection that died without a word (a NAT or firewall forgetting it) is noticed by the
    kernel within about two minutes, instead of at the next IDLE renewal (25 minutes later)."""
    with contextlib.suppress(OSError, AttributeError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, KEEPALIVE_IDLE_SECONDS)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, KEEPALIVE_INTERVAL_SECONDS)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, KEEPALIVE_PROBES)


class JsonStateStore:
    """MailboxStateStore in one JSON file, rewritten atomically; for standalone use."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def _load(self) -> dict[str, list[int]]:
        try:
            return json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}

    def get(self, key: str) -> tuple[int, int] | None:
        with self._lock:
            value = self._load().get(key)
        return (int(value[0]), int(value[1])) if value else None

    def set(self, key: str, uidvalidity: int, last_uid: int) -> None:
        with self._lock:
            data = self._load()
            data[key] = [uidvalidity, last_uid]
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".state-", suffix=".tmp")
            try:
                with os.fdopen(fd, "w") as f:
                    json.dump(data, f, sort_keys=True)
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(tmp, self.path)
            finally:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)
            fsync_dir(self.path.parent)


class ImapPoller:
    """Polls (or IDLEs on) one IMAP folder and feeds each new message to `sink`."""

    def __init__(
        self,
        host: str,
        port: int,
        user: str,
        password: str,
        folder: str,
        tls: bool,
        spool_dir: Path,
        state: MailboxStateStore,
        sink: Sink,
        *,
        ssl_context: ssl.SSLContext | None = None,
        timeout: float = 60.0,
        chunk_size: int = CHUNK_SIZE,
        poll_interval: float = 60.0,
        use_idle: bool = True,
        idle_renew: float = 25 * 60,  # RFC 2177: servers may drop an IDLE after 30 min
        idle_check_interval: float = 2.0,  # how quickly run() notices `stop`
        backoff_initial: float = 1.0,
        backoff_max: float = 300.0,
        processed_flag: bytes = PROCESSED_FLAG,
    ) -> None:
        self.host, self.port, self.user, self.password = host, port, user, password
        self.folder, self.tls = folder, tls
        self.spool_dir = spool_dir
        self.state = state
        self.sink = sink
        self.ssl_context = ssl_context
        self.timeout = timeout
        self.chunk_size = chunk_size
        self.poll_interval = poll_interval
        self.use_idle = use_idle
        self.idle_renew = idle_renew
        self.idle_check_interval = idle_check_interval
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.processed_flag = processed_flag
        self.state_key = f"imap:{user}@{host}:{port}/{folder}"
        self._client: IMAPClient | None = None
        self._uidvalidity = 0
        self._can_flag = False
        self.reconnects = 0  # observable for tests and the dashboard
        self._size_mismatches: dict[int, int] = {}

    # -- connection --------------------------------------------------------------------------

    def _connect(self) -> IMAPClient:
        client = IMAPClient(self.host, port=self.port, ssl=self.tls, ssl_context=self.ssl_context, timeout=self.timeout)
        try:
            _keep_alive(client.socket())
            client.normalise_times = False  # keep INTERNALDATE's zone: received_at must be aware
            client.login(self.user, self.password)
            if b"ID" in client.capabilities():
                # NetEase (126/163.com, the office's mailbox) answers SELECT with "Unsafe Login"
                # to a client that has not said who it is (RFC 2971 ID).
                client.id_({"name": "nomdesk", "vendor": "Nomination Desk"})
            info = client.select_folder(self.folder)
        except BaseException:
            with contextlib.suppress(Exception):
                client.shutdown()
            raise
        self._client = client
        self._uidvalidity = int(info[b"UIDVALIDITY"])
        permanent = info.get(b"PERMANENTFLAGS", ())
        self._can_flag = b"\\*" in permanent or self.processed_flag in permanent
        return client

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                client.logout()
            with contextlib.suppress(Exception):
                client.shutdown()

    def _drop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                client.shutdown()

    # -- one pass ----------------------------------------------------------------------------

    def poll_once(self) -> int:
        """Fetch every message above the last UID done; return how many were handed to the sink."""
        client = self._client or self._connect()
        saved = self.state.get(self.state_key)
        if saved is None or saved[0] != self._uidvalidity:
            if saved is not None:
                log.warning(
                    "UIDVALIDITY of %s changed (%s -> %s): rescanning the whole folder",
                    self.folder, saved[0], self._uidvalidity,
                )  # fmt: skip
            self.state.set(self.state_key, self._uidvalidity, 0)
            last_uid = 0
        else:
            last_uid = saved[1]
        client.noop()  # lets the server report mail delivered since the last command
        # "N:*" always matches the highest UID, even one below N: filter ourselves.
        uids = sorted(uid for uid in client.search(["UID", f"{last_uid + 1}:*"]) if uid > last_uid)
        if not uids:
            return 0
        meta = client.fetch(uids, ["INTERNALDATE", "RFC822.SIZE"])
        done = 0
        for uid in uids:
            if uid not in meta:  # expunged between SEARCH and FETCH: nothing left to fetch
                log.warning("message %s:%s vanished before it could be fetched", self.folder, uid)
                self.state.set(self.state_key, self._uidvalidity, uid)
                continue
            path = self._download(client, uid)
            if path is None:
                self.state.set(self.state_key, self._uidvalidity, uid)
                continue
            self._check_complete(uid, path, meta[uid].get(b"RFC822.SIZE"))
            received = meta[uid][b"INTERNALDATE"]
            if received.tzinfo is None:
                received = received.replace(tzinfo=dt.UTC)
            ref = IncomingRef(
                source="imap",
                source_ref=f"imap:{self.folder}:{self._uidvalidity}:{uid}",
                received_at=received,
                size=path.stat().st_size,
            )
            try:
                self.sink(path, ref)
            finally:
                path.unlink(missing_ok=True)  # the sink stored (or moved) it, or failed: the spool copy is no use
            self.state.set(self.state_key, self._uidvalidity, uid)
            done += 1
            if self._can_flag:
                client.add_flags([uid], [self.processed_flag], silent=True)
        return done

    def _check_complete(self, uid: int, path: Path, declared: int | None) -> None:
        """A download shorter or longer than the size the server declared is not kept and the
        last UID does not move past it: the poll fails and the next one fetches it again. A
        server whose sizes never match (a few count line ends differently) is believed after
        a few tries rather than blocking the mailbox."""
        got = path.stat().st_size
        if declared is None or got == int(declared):
            self._size_mismatches.pop(uid, None)
            return
        tries = self._size_mismatches.get(uid, 0) + 1
        self._size_mismatches[uid] = tries
        if tries >= SIZE_MISMATCH_TRIES:
            log.warning(
                "message %s:%s: %s bytes, server says %s; kept after %s tries", self.folder, uid, got, declared, tries
            )
            return
        path.unlink(missing_ok=True)
        raise IncompleteDownload(f"message {self.folder}:{uid}: got {got} of {declared} bytes")

    def _download(self, client: IMAPClient, uid: int) -> Path | None:
        """Write the raw message to a spool file in partial fetches; None if the server has no such message."""
        self.spool_dir.mkdir(parents=True, exist_ok=True)
        final = self.spool_dir / f"imap-{self._uidvalidity}-{uid}.eml"
        fd, tmp = tempfile.mkstemp(dir=self.spool_dir, prefix=f".imap-{uid}-", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out:
                offset = 0
                while True:
                    item = f"BODY[]<{offset}>".encode()
                    answer = client.fetch([uid], [f"BODY.PEEK[]<{offset}.{self.chunk_size}>"])
                    if uid not in answer:
                        return None
                    chunk = answer[uid].get(item) or b""
                    out.write(chunk)
                    offset += len(chunk)
                    if len(chunk) < self.chunk_size:
                        break
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, final)
            fsync_dir(self.spool_dir)
            return final
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)

    # -- service loop ------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Poll until `stop` is set, surviving any connection trouble by reconnecting with backoff."""
        failures = 0
        try:
            while not stop.is_set():
                try:
                    if self._client is None:
                        self._connect()
                        if failures:
                            self.reconnects += 1
                            log.info("reconnected to %s:%s", self.host, self.port)
                    self.poll_once()
                    failures = 0  # connected and caught up: the next trouble starts a fresh backoff
                    self._wait_for_news(stop)
                except RECONNECT_ERRORS as exc:
                    self._drop()
                    failures += 1
                    delay = self._backoff(failures)
                    log.warning("IMAP %s:%s: %s; reconnecting in %.1f s", self.host, self.port, exc, delay)
                    stop.wait(delay)
                except Exception:
                    # The sink failed (disk full, database down): retry the same message later.
                    self._drop()
                    failures += 1
                    delay = self._backoff(failures)
                    log.exception("IMAP intake failed; retrying in %.1f s", delay)
                    stop.wait(delay)
        finally:
            self.close()

    def _backoff(self, failures: int) -> float:
        delay = min(self.backoff_max, self.backoff_initial * 2 ** (failures - 1))
        return delay * random.uniform(0.8, 1.2)

    def _wait_for_news(self, stop: threading.Event) -> None:
        client = self._client
        assert client is not None
        if not (self.use_idle and b"IDLE" in client.capabilities()):
            stop.wait(self.poll_interval)
            return
        client.idle()
        started = time.monotonic()
        while not stop.is_set() and time.monotonic() - started < self.idle_renew:
            t0 = time.monotonic()
            responses = client.idle_check(timeout=self.idle_check_interval)
            if responses:
                if any(r[:1] == (b"BYE",) for r in responses):
                    raise ConnectionLost(f"server said BYE: {responses!r}")
                break  # something changed: leave IDLE and poll
            if time.monotonic() - t0 < self.idle_check_interval * 0.5:
                # idle_check swallows EOF and returns nothing at once when the connection dropped
                raise ConnectionLost("connection closed during IDLE")
        client.idle_done()


__all__ = ["CHUNK_SIZE", "PROCESSED_FLAG", "RECONNECT_ERRORS", "ConnectionLost", "ImapPoller", "JsonStateStore"]
