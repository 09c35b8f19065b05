"""Crash safety of `nomdesk serve`: SIGKILL at random points while mail is processed, then restart.

Drop-folder mode with the file outbox: every step is observable on disk and a rerun of
a half-done step must neither lose a mail nor write a second reply.
"""

from __future__ import annotations

import random
import signal
import time
from pathlib import Path

import pytest

from storage.repo import Store
from storage.tables import OutboxState, RawState
from tests.support.mail import attachment, filename_rfc2047
from tests.support.postgres import postgres_server, postgres_url  # noqa: F401  (fixtures)
from tests.support.service import (
    ServeProcess,
    campaign_with_contacts,
    deliver,
    mail,
    message_id_of,
    outbox_mails,
    replies_to,
    sha256,
    store_of,
    wait_until,
)

pytestmark = pytest.mark.slow

UNITS = ["吉林大学", "东北师范大学", "延边大学", "北华大学", "长春理工大学"]
MAILS = 20
ROUNDS = 8  # at most; each kill comes after fresh progress, so no mail is interrupted twice
LATE_PER_ROUND = 3  # mail still arriving at the first kills: they cannot all come after the work is done


def _mails(rng: random.Random) -> list[tuple[str, bytes]]:
    out = []
    for n in range(MAILS):
        sender = f"contact{n % 10}@unit{n % 10}.example.cn"
        summary = f"第{n}号补充材料：工作总结。{rng.random()}\n" * rng.randint(1, 20)
        raw = mail(
            sender,
            subject=f"推荐材料 第{n}封",
            text=f"您好！第{n}封推荐材料见附件。",
            parts=[attachment(summary.encode(), filename_rfc2047(f"工作总结{n}.txt"), content_type="text/plain")],
        )
        out.append((sender, raw))
    return out


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str | None:
    """None: the default SQLite file under the data dir; else a fresh database on a real PostgreSQL."""
    return None if request.param == "sqlite" else request.getfixturevalue("postgres_url")


def test_sigkill_at_random_points_loses_nothing_and_answers_each_mail_once(
    tmp_path: Path, database_url: str | None, request: pytest.FixtureRequest
) -> None:
    rng = random.Random(20210830)
    contacts = {UNITS[i % len(UNITS)]: [] for i in range(10)}
    for i in range(10):
        contacts[UNITS[i % len(UNITS)]].append(f"contact{i}@unit{i}.example.cn")
    campaign = campaign_with_contacts(tmp_path / "campaign.toml", contacts)
    data = tmp_path / "var"
    mails = _mails(rng)
    env = {"NOMDESK_DATABASE_URL": database_url} if database_url else None
    serve = ServeProcess(data, campaign=campaign, env=env)
    request.addfinalizer(serve.stop)  # a failed assertion must not leave a desk running

    # (mails done, mails stored, mails cut mid-processing) at each kill
    progress: list[tuple[int, int, int]] = []
    for _, raw in mails[: MAILS // 2]:
        deliver(data, raw)
    late = mails[MAILS // 2 :]  # the rest arrive a few per round while the desk is busy
    done = 0
    Store.open(data, database_url).close()  # the data dir as a first start leaves it: watchable from the start
    with store_of(data, database_url) as store:
        for round_ in range(ROUNDS):
            serve.start(wait=False)
            for _, raw in late[:LATE_PER_ROUND]:
                deliver(data, raw)
                time.sleep(rng.uniform(0.0, 0.05))
            del late[:LATE_PER_ROUND]
            # Kill once the desk is at work (another mail done) ...
            wait_until(lambda done=done: len(store.raw.all(RawState.DONE)) > done, 30, 0.02, what="progress")
            if round_ % 2:
                # ... as soon as a mail is seen half-read, so some kill surely cuts one ...
                wait_until(
                    lambda: (
                        store.raw.all(RawState.PROCESSING) or len(store.raw.all(RawState.DONE)) == MAILS - len(late)
                    ),
                    30,
                    0.002,
                    what="a mail in processing",
                )
            else:
                # ... or at a random moment later.
                time.sleep(rng.uniform(0.0, 0.3))
            serve.kill(signal.SIGKILL)
            done = len(store.raw.all(RawState.DONE))
            cut = len(store.raw.all(RawState.PROCESSING))  # killed halfway through reading a mail
            progress.append((done, len(store.raw.all()), cut))
            if done == MAILS:
                break
        for _, raw in late:  # a round count too small for the deliveries must not lose mail from the test
            deliver(data, raw)

    serve.start()
    with store_of(data, database_url) as store:

        def settled() -> bool:
            raws = store.raw.all()
            return (
                len(raws) == MAILS
                and all(r.state == RawState.DONE for r in raws)
                and all(o.state in (OutboxState.SENT, OutboxState.SUPPRESSED) for o in store.outbox.all())
            )

        wait_until(settled, 40, what=f"all mails done and sent; kills at {progress}\n{serve.stderr()[-2000:]}")
        serve.stop()

        # Some kills came while mail was still waiting or in flight (else the test proved nothing).
        assert len(progress) >= 3 and all(d < MAILS for d, _, _ in progress[:3]), progress
        assert any(cut for _, _, cut in progress), f"no kill interrupted a mail mid-processing: {progress}"

        raws = store.raw.all()
        assert len(raws) == MAILS and {r.state for r in raws} == {RawState.DONE}
        by_raw = {}
        for raw in raws:
            sub = store.submissions.for_raw(raw.id)
            assert sub is not None
            by_raw[raw.sha256] = sub
        assert len({s.id for s in by_raw.values()}) == MAILS  # one submission per mail

        replies = outbox_mails(data)
        assert len(replies) == MAILS
        for sender, raw in mails:
            digest = sha256(raw)
            kept = data / "store" / digest[:2] / digest[2:4] / digest
            assert kept.read_bytes() == raw  # byte for byte
            assert by_raw[digest].unit_name in UNITS
            (reply,) = replies_to(replies, message_id_of(raw))  # exactly one reply per mail
            assert reply["To"] == sender
            assert reply["Auto-Submitted"] == "auto-replied"
        assert not list((data / "inbox" / "new").iterdir())
