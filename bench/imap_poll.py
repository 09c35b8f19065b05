"""Cost of one IMAP poll with nothing new on a 10,000-message mailbox, against a bare imaplib poll.

Seeds the mailbox by writing files straight into Dovecot's Maildir new/ (APPENDing
10,000 messages would take minutes), lets Dovecot index it, marks the poller as caught
up, then times poll_once() beside two baselines measured in the same run on the same
server: a bare NOOP round trip, and a bare poll with the standard library's imaplib on a
held TLS connection (NOOP, then UID SEARCH above the last UID: the least a poll must send).
Goal: poll_once() <= 3x the bare imaplib poll (median).

    .venv/bin/python -m bench.imap_poll [--messages 10000] [--polls 50] [--quick]
"""

from __future__ import annotations

import argparse
import imaplib
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

GOAL_RATIO = 3.0  # poll_once() median / bare imaplib poll median


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


def bare_poller(dovecot: Dovecot, last_uid: int) -> tuple[imaplib.IMAP4_SSL, object]:
    """The baseline: stdlib imaplib, logged in and INBOX selected once, then per poll NOOP and
    UID SEARCH above the last UID done (which answers with the highest UID: nothing new)."""
    conn = imaplib.IMAP4_SSL("127.0.0.1", dovecot.imaps_port, ssl_context=dovecot.ssl_context(), timeout=30)
    conn.login(dovecot.user, dovecot.password)
    conn.select("INBOX")

    def poll() -> None:
        conn.noop()
        typ, data = conn.uid("SEARCH", f"UID {last_uid + 1}:*")
        assert typ == "OK" and [int(u) for u in data[0].split() if int(u) > last_uid] == [], data

    return conn, poll


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--polls", type=int, default=50)
    parser.add_argument("--quick", action="store_true", help="30 polls of each")
    args = parser.parse_args()
    if args.quick:
        args.polls = 30

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
        conn, bare_poll = bare_poller(dovecot, max(uids))
        bare_poll()  # not timed either
        polls, bare, noops = [], [], []
        with dovecot.client() as client:
            client.select_folder("INBOX")
            client.noop()
            for _ in range(args.polls):  # interleaved, so a slow moment of the machine hits all three
                noops += timings(client.noop, 1)
                bare += timings(bare_poll, 1)
                polls += timings(poller.poll_once, 1)
        conn.logout()
        assert not received
        poller.close()

    ratio = statistics.median(polls) / statistics.median(bare)
    print(f"NOOP round trip (TLS)      : {summary(noops)}")
    print(f"baseline: imaplib poll     : {summary(bare)}")
    print(f"poll_once(), nothing new   : {summary(polls)}")
    print(
        f"poll_once() / baseline     : {ratio:.2f}x (median); "
        f"/ NOOP {statistics.median(polls) / statistics.median(noops):.2f}x"
    )
    verdict = "met" if ratio <= GOAL_RATIO else "NOT met"
    print(f"goal poll_once() <= {GOAL_RATIO:.0f}x the bare imaplib poll: {ratio:.2f}x, {verdict}")
    return 0 if ratio <= GOAL_RATIO else 1


if __name__ == "__main__":
    raise SystemExit(main())
