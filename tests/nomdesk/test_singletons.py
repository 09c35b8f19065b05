"""Two `nomdesk serve` on one data directory: one of them watches the drop folder and runs the
scheduler, the other stands by; when the first is SIGKILLed the second takes both over within a
minute, and every mail is answered once."""

from __future__ import annotations

import re
import signal
import time
from pathlib import Path

import pytest

from tests.support.postgres import postgres_server, postgres_url  # noqa: F401  (fixtures)
from tests.support.service import (
    ServeProcess,
    deliver,
    mail,
    message_id_of,
    outbox_mails,
    replies_to,
    wait_until,
)

pytestmark = pytest.mark.slow

ROLES = ("drop-folder watcher", "scheduler")


class NamedServe(ServeProcess):
    """A serve process with a log of its own (two of them share one data directory)."""

    def __init__(self, data_dir: Path, name: str, database_url: str | None) -> None:
        super().__init__(data_dir, env={"NOMDESK_DATABASE_URL": database_url} if database_url else None)
        self.log = data_dir.parent / f"{name}-serve.log"

    def runs(self, role: str) -> bool:
        """Whether its log says it runs `role` now (its last word on the role)."""
        said = re.findall(rf"{re.escape(role)}: this process \(pid \d+\) (runs it|no longer runs it)", self.stderr())
        return bool(said) and said[-1] == "runs it"


def answered_once(data: Path, raw: bytes, timeout: float = 60.0) -> None:
    mid = message_id_of(raw)
    wait_until(lambda: replies_to(outbox_mails(data), mid), timeout, what="the reply")
    time.sleep(1.0)
    assert len(replies_to(outbox_mails(data), mid)) == 1


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str | None:
    """None: the SQLite file of the shared data dir (lock files); else PostgreSQL (advisory locks)."""
    return None if request.param == "sqlite" else request.getfixturevalue("postgres_url")


def test_one_process_runs_the_singletons_and_the_other_takes_over_after_a_kill(
    tmp_path: Path, database_url: str | None
) -> None:
    data = tmp_path / "var"
    first, second = NamedServe(data, "first", database_url), NamedServe(data, "second", database_url)
    first.start()
    second.start()
    try:
        for role in ROLES:
            wait_until(lambda role=role: first.runs(role), 10, what=f"the first process running the {role}")
        time.sleep(3.0)  # the second has tried (and failed) to take them meanwhile
        assert not any(second.runs(role) for role in ROLES), second.stderr()[-2000:]

        raw = mail("stranger1@example.cn")
        deliver(data, raw)
        answered_once(data, raw)

        first.kill(signal.SIGKILL)
        started = time.monotonic()
        for role in ROLES:
            wait_until(lambda role=role: second.runs(role), 60, what=f"the second process taking over the {role}")
        assert time.monotonic() - started < 60

        raw = mail("stranger2@example.cn")
        deliver(data, raw)
        answered_once(data, raw)
        assert not list((data / "inbox" / "new").iterdir())  # the drop folder is watched again
    finally:
        first.stop()
        second.stop()
