"""Cost of one IMAP poll with nothing new on a 10,000-message mailbox (goal: <= 50 ms).

Seeds the mailbox by writing files straight into Dovecot's Maildir new/ (APPENDing
10,000 messages would take minutes), lets Dovecot index it, marks the poller as caught
up, then times poll_once() beside a bare NOOP round trip on the same server.

    .venv/bin/python -m bench.imap_poll [--messages 10000] [--polls 50]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from intake.sources import ImapPoller, JsonStateStore  # noqa: E402
from tests.support.dovecot import Dovecot  # noqa: E402

GOAL_MS = 50.0


def seed(dovecot: Dovecot, count: int) -> None:
    maildir = dovecot.maildir()
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True, exist_ok=True)
    uid, gid = dovecot.mail_owner()
    base = int(time.time()) - count
    for i in range(count):
        name = f"{base + i}.M{i}P1.bench"
        tmp = maildir / "tmp" / name
        tmp.write_bytes(
            f"From: unit{i % 70}@example.cn\r\nTo: desk@example.org\r\nSubject: =?utf-8?b?5o6o6I2Q?= {i}\r\n"
            f"Message-ID: <{i}@bench>\r\n\r\n推荐材料 {i}\r\n".encode()
        )
        os.chown(tmp, uid, gid)
        os.replace(tmp, maildir / "new" / name)
    for path in maildir.rglob("*"):
        os.chown(path, uid, gid)
    os.chown(maildir, uid, gid)


def timings(fn, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def summary(ms: list[float]) -> str:
    p95 = statistics.quantiles(ms, n=20)[-1]
    return f"median {statistics.median(ms):6.2f} ms   p95 {p95:6.2f} ms   max {max(ms):6.2f} ms"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--polls", type=int, default=50)
    args = parser.parse_args()

    with Dovecot() as dovecot, tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        seed(dovecot, args.messages)
        seeded = time.perf_counter() - t0
        t0 = time.perf_counter()
        with dovecot.client() as client:
            info = client.select_folder("INBOX")  # Dovecot indexes the new mail here
            uids = client.search(["ALL"])
        indexed = time.perf_counter() - t0
        assert info[b"EXISTS"] == args.messages == len(uids), info
        print(f"seeded {args.messages} messages in {seeded:.1f} s, indexed by Dovecot in {indexed:.1f} s")

        state = JsonStateStore(Path(tmp) / "state.json")
        received: list[object] = []
        poller = ImapPoller(
            "127.0.0.1", dovecot.imaps_port, dovecot.user, dovecot.password, "INBOX", True,
            Path(tmp) / "spool", state, lambda path, ref: received.append(ref), ssl_context=dovecot.ssl_context(),
        )  # fmt: skip
        state.set(poller.state_key, int(info[b"UIDVALIDITY"]), max(uids))  # caught up
        assert poller.poll_once() == 0  # connects; not timed
        polls = timings(poller.poll_once, args.polls)
        assert not received
        poller.close()

        with dovecot.client() as client:
            client.select_folder("INBOX")
            client.noop()
            noops = timings(client.noop, args.polls)

    print(f"NOOP round trip (TLS)      : {summary(noops)}")
    print(f"poll_once(), nothing new   : {summary(polls)}")
    verdict = "OK" if statistics.median(polls) <= GOAL_MS else "OVER GOAL"
    print(f"goal <= {GOAL_MS:.0f} ms: {verdict}")
    return 0 if verdict == "OK" else 1


if __name__ == "__main__":
    raise SystemExit(main())
