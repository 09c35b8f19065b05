"""Mails per minute with one and then two `nomdesk serve` processes on one PostgreSQL database.

Starts a throwaway PostgreSQL server (as tests/support/postgres.py does; NOMDESK_TEST_POSTGRES_URL
uses a running one instead), and with --s3 a local S3 server (moto). Each round gets a fresh
database and data directory; its processes are started and ready first, then the same N
small-package mails (one photo each, each from its own registered address so every reply is due at
once) are dropped into the drop folder, and the clock runs from the drop to the last reply written
to the outbox folder. Without --s3 the processes share one data directory (one machine, one file
store); with --s3 each has its own, as separate machines, and the mails are split between their
drop folders. Goal on 2 cores: the second process adds at least 50% (ratio >= 1.5).

    .venv/bin/python -m bench.several_desks [--mails 200] [--quick] [--s3]
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.fleet import FleetCampaign, fleet_campaign, small_mail  # noqa: E402
from tests.support.postgres import EXTERNAL_URL_ENV, SUPERUSER, PostgresServer  # noqa: E402
from tests.support.service import ServeProcess, deliver, message_id_of, parse  # noqa: E402

GOAL_RATIO = 1.5
UNITS = 12


@contextlib.contextmanager
def throwaway_postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server initdb'ed into a temporary directory on a free loopback port (run as the
    `postgres` user under root, as PostgreSQL insists), stopped and removed at the end."""
    external = os.environ.get(EXTERNAL_URL_ENV)
    if external:
        yield PostgresServer(external)
        return
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name))
    if not bins:
        raise SystemExit("PostgreSQL server binaries not found: apt-get install -y postgresql")
    bin_dir = Path(bins[-1])
    as_postgres = os.geteuid() == 0
    user = pwd.getpwnam(SUPERUSER) if as_postgres else None

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        cmd = ["runuser", "-u", SUPERUSER, "--", *args] if as_postgres else list(args)
        return subprocess.run(cmd, capture_output=True, text=True, check=False)

    root = Path(tempfile.mkdtemp(prefix="nomdesk-bench-pg-"))
    os.chmod(root, 0o755)
    sockets = root / "sock"
    sockets.mkdir()
    if user is not None:
        for path in (root, sockets):
            os.chown(path, user.pw_uid, user.pw_gid)
    from tests.support.dovecot import free_port

    port = free_port()
    data, logfile = root / "data", root / "server.log"
    init = run(str(bin_dir / "initdb"), "-D", str(data), "-U", SUPERUSER, "--auth=trust", "-E", "UTF8", "--no-sync")
    if init.returncode:
        raise SystemExit(f"initdb failed:\n{init.stderr}")
    options = (
        f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 "
        "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
    )
    start = run(str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(logfile), "-o", options, "-w", "start")
    if start.returncode:
        raise SystemExit(f"PostgreSQL did not start:\n{start.stderr}")
    try:
        yield PostgresServer(f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{port}/postgres")
    finally:
        run(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def moto(enabled: bool) -> Iterator[str | None]:
    if not enabled:
        yield None
        return
    from tests.support.s3 import start_moto, stop_moto

    proc, endpoint, logdir = start_moto()
    try:
        yield endpoint
    finally:
        stop_moto(proc, logdir)


def stored(url: str) -> int:
    """Raw messages in the database: how far intake (the one drop-folder watcher) has come."""
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://", 1)) as conn:
        row = conn.execute("SELECT count(*) FROM raw_message").fetchone()
    return int(row[0]) if row else 0


def replies_in(outboxes: list[Path], wanted: set[str], seen: dict[Path, str]) -> int:
    """How many of `wanted` have a reply in the outbox folders (each .eml read once)."""
    for outbox in outboxes:
        for path in outbox.glob("*.eml") if outbox.exists() else ():
            if path not in seen:
                with contextlib.suppress(OSError):
                    seen[path] = str(parse(path.read_bytes()).get("In-Reply-To", "") or "").strip()
    return len({v for v in seen.values() if v in wanted})


def one_round(
    processes: int,
    server: PostgresServer,
    s3_endpoint: str | None,
    campaign: FleetCampaign,
    mails: list[bytes],
    work: Path,
    timeout: float,
) -> float:
    """Seconds from dropping the mails to their last reply, with `processes` desks running."""
    url = server.create_database()
    env = {
        "NOMDESK_DATABASE_URL": url,
        "NOMDESK_ID_HASH_KEY": "bench-" + "0" * 40,
        "NOMDESK_SECRET_KEY": "bench-" + "1" * 40,
        "NOMDESK_REPLY_RATE_PER_HOUR": "100000",
        "NOMDESK_CLOCK_START": "2021-08-21T10:00",  # in the call, no reminder round due
    }
    if s3_endpoint is not None:
        from tests.support.s3 import s3_env

        env |= s3_env(s3_endpoint)
        dirs = [work / f"n{processes}-desk{i}" for i in range(processes)]
    else:
        dirs = [work / f"n{processes}-var"] * processes
    fleet = [ServeProcess(d, env=env, campaign=campaign.path) for d in dirs]
    for i, process in enumerate(fleet):
        process.log = work / f"n{processes}-serve-{i}.log"
    try:
        for process in fleet:
            process.start(timeout=120)
        wanted = {message_id_of(m) for m in mails}
        inboxes = sorted(set(dirs))
        started = time.monotonic()
        for n, raw in enumerate(mails):
            deliver(inboxes[n % len(inboxes)], raw)
        seen: dict[Path, str] = {}
        outboxes = [d / "outbox" for d in inboxes]
        done = 0
        stored_at: float | None = None  # when the last mail was taken in (stored, not yet read)
        while done < len(wanted):
            if stored_at is None and stored(url) >= len(wanted):
                stored_at = time.monotonic() - started
            if time.monotonic() - started > timeout:
                logs = "\n".join(p.stderr()[-2000:] for p in fleet)
                raise SystemExit(
                    f"{processes} process(es): only {done}/{len(wanted)} replies in {timeout:.0f} s\n{logs}"
                )
            time.sleep(0.2)
            done = replies_in(outboxes, wanted, seen)
        seconds = time.monotonic() - started
        shares = [sum(1 for line in p.stderr().splitlines() if "sent (" in line and "reply:" in line) for p in fleet]
        print(f"  all mails taken in after {stored_at or seconds:.1f} s; replies sent by each process: {shares}")
        return seconds
    finally:
        for process in fleet:
            process.stop()
        server.drop_database(url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mails", type=int, default=200)
    parser.add_argument("--quick", action="store_true", help="40 mails")
    parser.add_argument("--s3", action="store_true", help="a data directory per process and one S3 store (moto)")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds a round may take")
    args = parser.parse_args()
    count = 40 if args.quick else args.mails
    with tempfile.TemporaryDirectory(prefix="nomdesk-bench-desks-") as tmp:
        work = Path(tmp)
        campaign = fleet_campaign(work / "campaign.toml", units=UNITS, addresses_per_unit=-(-count // UNITS))
        mails = [small_mail(campaign.senders[n], n) for n in range(count)]
        with throwaway_postgres() as server, moto(args.s3) as endpoint:
            rates = []
            for n in (1, 2):
                seconds = one_round(n, server, endpoint, campaign, mails, work, args.timeout)
                rate = count / seconds * 60
                rates.append(rate)
                print(
                    f"{n} serve process{'es' if n > 1 else ''}: {count} mails in {seconds:.1f} s = {rate:.1f} mails/min"
                )
    ratio = rates[1] / rates[0]
    store = "one S3 store, a data directory each" if args.s3 else "one data directory"
    verdict = "ok" if ratio >= GOAL_RATIO else "below goal"
    print(f"ratio 2/1: {ratio:.2f} (goal >= {GOAL_RATIO}; {os.cpu_count()} cores; PostgreSQL, {store}): {verdict}")


if __name__ == "__main__":
    main()
