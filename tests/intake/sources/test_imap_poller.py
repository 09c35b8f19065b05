"""ImapPoller against a real Dovecot: every message arrives byte for byte, once, whatever the connection does."""

from __future__ import annotations

import hashlib
import itertools
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from intake.sources import ImapPoller, IncomingRef, JsonStateStore
from intake.sources.imap import PROCESSED_FLAG, IncompleteDownload
from tests.support.dovecot import Dovecot

_folders = itertools.count()


def message(subject: str, body: bytes = b"") -> bytes:
    return (
        b"From: =?utf-8?b?5bu26L655bee?= <yanbian@example.cn>\r\nTo: desk@example.org\r\n"
        b"Subject: " + subject.encode() + b"\r\nMessage-ID: <" + subject.encode() + b"@example.cn>\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n\r\n" + (body or "推荐材料见附件\r\n".encode()) + b"\r\n"
    )


class Store:
    """A sink like the real one: keeps a durable copy, then the poller may forget the spool file."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.refs: list[IncomingRef] = []
        self.hashes: list[str] = []
        self.lock = threading.Lock()

    def __call__(self, path: Path, ref: IncomingRef) -> None:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        shutil.copyfile(path, self.root / digest)
        with self.lock:
            self.refs.append(ref)
            self.hashes.append(digest)

    def wait_for(self, count: int, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.hashes) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(self.hashes) >= count, f"got {len(self.hashes)} of {count} messages"


@pytest.fixture
def folder(dovecot: Dovecot) -> str:
    name = f"Desk{next(_folders)}"
    with dovecot.client(tls=False) as client:
        client.create_folder(name)
    return name


@pytest.fixture
def make_poller(dovecot: Dovecot, tmp_path: Path, folder: str) -> Callable[..., ImapPoller]:
    def make(store: Store, **kwargs: object) -> ImapPoller:
        options: dict[str, object] = {"backoff_initial": 0.05, "backoff_max": 0.5, "idle_check_interval": 0.5}
        options.update(kwargs)
        return ImapPoller(
            "127.0.0.1", dovecot.imaps_port, dovecot.user, dovecot.password, folder, True,
            tmp_path / "spool", JsonStateStore(tmp_path / "state.json"), store,
            ssl_context=dovecot.ssl_context(), **options,  # type: ignore[arg-type]
        )  # fmt: skip

    return make


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_every_message_byte_for_byte_with_provenance(dovecot: Dovecot, folder: str, make_poller, tmp_path) -> None:
    sent = [message(f"m{i}") for i in range(3)]
    uids = [dovecot.append(m, folder=folder) for m in sent]
    store = Store(tmp_path / "store")
    poller = make_poller(store)
    try:
        assert poller.poll_once() == 3
        assert poller.poll_once() == 0
    finally:
        poller.close()
    assert store.hashes == [sha(m) for m in sent]
    with dovecot.client() as client:
        info = client.select_folder(folder)
        uidvalidity = info[b"UIDVALIDITY"]
    assert [r.source_ref for r in store.refs] == [f"imap:{folder}:{uidvalidity}:{uid}" for uid in uids]
    assert all(r.source == "imap" and r.received_at.tzinfo is not None for r in store.refs)
    assert [r.size for r in store.refs] == [len(m) for m in sent]
    assert not list((tmp_path / "spool").glob("*")), "spool files are removed once the sink has the message"


def test_processed_mail_is_flagged_not_seen_not_deleted(dovecot: Dovecot, folder: str, make_poller, tmp_path) -> None:
    uid = dovecot.append(message("flagged"), folder=folder)
    poller = make_poller(Store(tmp_path / "store"))
    try:
        poller.poll_once()
    finally:
        poller.close()
    with dovecot.client() as client:
        client.select_folder(folder, readonly=True)
        flags = client.get_flags([uid])[uid]
        assert client.search(["ALL"]) == [uid]
    assert PROCESSED_FLAG in flags
    assert b"\\Seen" not in flags
    assert b"\\Deleted" not in flags


def test_big_message_arrives_whole_in_chunks(dovecot: Dovecot, folder: str, make_poller, tmp_path) -> None:
    # 20 MB of base64-like lines; 1 MiB chunks make the poller do ~20 partial fetches.
    line = b"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0\r\n"
    big = message("big", line * (20_000_000 // len(line)))
    dovecot.append(big, folder=folder)
    store = Store(tmp_path / "store")
    poller = make_poller(store, chunk_size=1024 * 1024)
    try:
        assert poller.poll_once() == 1
    finally:
        poller.close()
    assert store.hashes == [sha(big)]
    assert store.refs[0].size == len(big) > 20_000_000


def test_state_survives_a_restart(dovecot: Dovecot, folder: str, make_poller, tmp_path) -> None:
    dovecot.append(message("old1"), folder=folder)
    dovecot.append(message("old2"), folder=folder)
    first = Store(tmp_path / "a")
    poller = make_poller(first)
    poller.poll_once()
    poller.close()
    dovecot.append(message("new"), folder=folder)
    second = Store(tmp_path / "b")
    poller = make_poller(second)  # a new process: only the state file carries over
    try:
        assert poller.poll_once() == 1
    finally:
        poller.close()
    assert second.hashes == [sha(message("new"))]


def test_uidvalidity_change_rescans(dovecot: Dovecot, folder: str, make_poller, tmp_path) -> None:
    dovecot.append(message("before1"), folder=folder)
    dovecot.append(message("before2"), folder=folder)
    store = Store(tmp_path / "store")
    poller = make_poller(store)
    try:
        assert poller.poll_once() == 2
        poller.close()
        # The folder is recreated (as a server migration would do): UIDs start again at 1.
        with dovecot.client(tls=False) as client:
            client.delete_folder(folder)
            client.create_folder(folder)
        time.sleep(1.1)  # Dovecot derives UIDVALIDITY from the clock
        uid = dovecot.append(message("after"), folder=folder)
        assert uid == 1
        assert poller.poll_once() == 1
    finally:
        poller.close()
    assert store.hashes[-1] == sha(message("after"))


def test_sink_failure_does_not_advance(dovecot: Dovecot, folder: str, make_poller, tmp_path) -> None:
    dovecot.append(message("retry"), folder=folder)
    store = Store(tmp_path / "store")
    calls = []

    def failing(path: Path, ref: IncomingRef) -> None:
        calls.append(ref)
        raise OSError("disk full")

    poller = make_poller(failing)
    with pytest.raises(OSError):
        poller.poll_once()
    poller.close()
    poller = make_poller(store)
    try:
        assert poller.poll_once() == 1
    finally:
        poller.close()
    assert store.hashes == [sha(message("retry"))]


@pytest.mark.parametrize("use_idle", [True, False], ids=["idle", "polling"])
def test_connection_cut_reconnects_and_misses_nothing(
    dovecot: Dovecot, folder: str, make_poller, tmp_path, use_idle: bool
) -> None:
    store = Store(tmp_path / "store")
    poller = make_poller(store, use_idle=use_idle, poll_interval=0.3)
    stop = threading.Event()
    worker = threading.Thread(target=poller.run, args=(stop,), daemon=True)
    dovecot.append(message("first"), folder=folder)
    worker.start()
    try:
        store.wait_for(1)
        assert dovecot.kick(), "the poller keeps its connection open between polls"
        dovecot.append(message("during"), folder=folder)
        store.wait_for(2)
        dovecot.kick()
        time.sleep(0.3)
        dovecot.kick()
        dovecot.append(message("after"), folder=folder)
        store.wait_for(3)
        assert poller.reconnects >= 1
    finally:
        stop.set()
        worker.join(timeout=10)
    assert not worker.is_alive()
    assert sorted(store.hashes) == sorted(sha(message(s)) for s in ("first", "during", "after"))


def test_server_down_and_back(dovecot: Dovecot, folder: str, make_poller, tmp_path) -> None:
    store = Store(tmp_path / "store")
    poller = make_poller(store, poll_interval=0.3)
    stop = threading.Event()
    worker = threading.Thread(target=poller.run, args=(stop,), daemon=True)
    worker.start()
    try:
        dovecot.append(message("up"), folder=folder)
        store.wait_for(1)
        dovecot.stop()
        time.sleep(1.0)  # the poller fails to connect a few times, backing off
        dovecot.start()
        dovecot.append(message("back"), folder=folder)
        store.wait_for(2)
    finally:
        stop.set()
        worker.join(timeout=10)
    assert store.hashes == [sha(message("up")), sha(message("back"))]


def test_a_short_download_is_not_kept_and_fetched_again(
    dovecot: Dovecot, folder: str, make_poller, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A partial fetch that comes back short (a server or proxy that drops an answer) must not be
    stored as the mail, nor let the last UID move past it."""
    sent = message("short", body=b"x" * 5000)
    dovecot.append(sent, folder=folder)
    store = Store(tmp_path / "store")
    poller = make_poller(store)
    real_download = ImapPoller._download
    cut = []

    def short_once(self: ImapPoller, client, uid: int):
        path = real_download(self, client, uid)
        if not cut and path is not None:
            cut.append(uid)
            path.write_bytes(path.read_bytes()[:1000])  # what a dropped partial-fetch answer leaves
        return path

    monkeypatch.setattr(ImapPoller, "_download", short_once)
    try:
        with pytest.raises(IncompleteDownload):
            poller.poll_once()
        assert store.hashes == []
        poller.close()
        assert poller.poll_once() == 1
    finally:
        poller.close()
    assert store.hashes == [sha(sent)]


def test_the_connection_asks_the_kernel_to_notice_a_silent_drop(dovecot: Dovecot, folder: str, make_poller, tmp_path):
    """A connection a NAT silently forgot would otherwise only be noticed at the next IDLE renewal."""
    import socket

    from intake.sources.imap import KEEPALIVE_IDLE_SECONDS

    poller = make_poller(Store(tmp_path / "store"))
    try:
        poller.poll_once()
        sock = poller._client.socket()
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) == KEEPALIVE_IDLE_SECONDS
    finally:
        poller.close()
