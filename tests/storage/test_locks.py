"""Cross-process locks (`store.locks`) on SQLite (lock files) and PostgreSQL (advisory locks):
another process holding a name keeps it from us, and its release or death frees it."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from storage.repo import Store
from tests.support.service import ROOT, clean_env, wait_until

HOLDER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from storage.db import database_url, make_engine
    from storage.locks import Locks

    data_dir, url, name = Path(sys.argv[1]), sys.argv[2] or None, sys.argv[3]
    locks = Locks(make_engine(database_url(data_dir, url)), data_dir)
    held = locks.try_acquire(name)
    print("held" if held else "busy", flush=True)
    time.sleep(600)
    """
)


def holder(data_dir: Path, url: str | None, name: str) -> subprocess.Popen[str]:
    """Another process that takes `name` and keeps it until it is killed; its first line says if it got it."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(data_dir), url or "", name],
        cwd=ROOT,
        env=clean_env(),
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    return proc


def test_try_acquire_excludes_another_process_until_it_dies(
    store: Store, data_dir: Path, database_url: str | None
) -> None:
    proc = holder(data_dir, database_url, "imap:mail.example.cn:desk:INBOX")
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
        assert store.locks.try_acquire("imap:mail.example.cn:desk:INBOX") is None
        other = store.locks.try_acquire("imap:mail.example.cn:desk:Archive")  # another name is free
        assert other is not None and other.alive()
        other.release()
        assert not other.alive()
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    held = wait_until(
        lambda: store.locks.try_acquire("imap:mail.example.cn:desk:INBOX"), 10, what="the dead holder's lock"
    )
    try:
        assert held.alive()
        second = holder(data_dir, database_url, "imap:mail.example.cn:desk:INBOX")
        try:
            assert second.stdout is not None and second.stdout.readline().strip() == "busy"
        finally:
            second.kill()
            second.wait(10)
    finally:
        held.release()


def test_release_frees_the_name_for_another_process(store: Store, data_dir: Path, database_url: str | None) -> None:
    held = store.locks.try_acquire("scheduler")
    assert held is not None
    assert store.locks.try_acquire("scheduler") is None  # a second thread of this process too
    held.release()
    proc = holder(data_dir, database_url, "scheduler")
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    finally:
        proc.kill()
        proc.wait(10)


def test_hold_serialises_two_stores(store: Store, data_dir: Path, database_url: str | None) -> None:
    """Two stores (two connections, as two processes have) on one unit: the second waits for the first."""
    events: list[str] = []
    with Store.open(data_dir, database_url, id_key=b"test-key") as other:
        entered = threading.Event()

        def first() -> None:
            with store.locks.hold("unit:长春市教育局"):
                events.append("first in")
                entered.set()
                time.sleep(0.5)
                events.append("first out")

        thread = threading.Thread(target=first)
        thread.start()
        assert entered.wait(10)
        with other.locks.hold("unit:长春市教育局"):
            events.append("second in")
        thread.join(10)
    assert events == ["first in", "first out", "second in"]


def test_names_are_scoped_by_campaign(store: Store, data_dir: Path, database_url: str | None) -> None:
    held = store.locks.try_acquire("scheduler")
    assert held is not None
    try:
        with Store.open(data_dir, database_url, id_key=b"test-key") as other:
            other.campaign_key = "jilin-2022"  # type: ignore[attr-defined]  (CAMPAIGNS sets it on open)
            theirs = other.locks.try_acquire("scheduler")
            assert theirs is not None
            theirs.release()
    finally:
        held.release()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_lost_connection_is_no_longer_held(store: Store) -> None:
    """The holder learns its lock is gone when the database drops its connection."""
    held = store.locks.try_acquire("scheduler")
    assert held is not None
    with store.engine.connect() as connection:
        from sqlalchemy import text

        connection.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND pid <> pg_backend_pid()"
            )
        )
        connection.commit()
    wait_until(lambda: not held.alive(), 10, what="the lock seen lost")
    held.release()
    again = store.locks.try_acquire("scheduler")
    assert again is not None
    again.release()
