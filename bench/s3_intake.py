"""Benchmark: intake of one big mail on the local blob store vs the S3 backend (a moto server).

Builds (once, cached under .cache/bench, as bench/intake_big_mail.py does) a ~300 MB message
whose attachment is a zip of random "videos", starts a moto S3 server on loopback, and runs in
fresh subprocesses the desk's whole intake of it (`ingest_file` + `process_pending`: the raw mail
stored, read, every file stored) once with DATA_DIR/store and once with NOMDESK_S3_* pointing at
the server. Prints wall seconds, MB/s of mail, peak RSS of the desk process and the ratio S3 /
local (goal: <= 1.5x). `--quick` runs a 30 MB mail.

    .venv/bin/python bench/s3_intake.py [--quick] [--repeat 1]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script: bench/ and tests/ are not on the path

from bench.intake_big_mail import CACHE, build_mail  # noqa: E402
from tests.support.s3 import s3_env, start_moto, stop_moto  # noqa: E402

CHILD = """
import json, resource, sys, time
from pathlib import Path
from config import load_campaign
from config.settings import Settings
from nomdesk.wiring import open_desk
campaign = load_campaign()
desk = open_desk(Settings(data_dir=Path(sys.argv[2]), sender_auth_dns=False), campaign)
start = time.perf_counter()
desk.ingest_file(Path(sys.argv[1]))
desk.process_pending()
wall = time.perf_counter() - start
rows = desk.store.raw.all()
sub = desk.store.submissions.for_raw(rows[0].id)
files = desk.store.submissions.files(sub.id) if sub else []
print(json.dumps({"wall": wall, "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                  "states": [r.state for r in rows], "files": len(files), "backend": type(desk.store.blobs).__name__}))
"""


def intake(mail: Path, env: dict[str, str]) -> dict:
    with tempfile.TemporaryDirectory(dir=CACHE) as work:
        clean = {k: v for k, v in os.environ.items() if not k.startswith("NOMDESK_")}
        result = subprocess.run(
            [sys.executable, "-c", CHILD, str(mail), str(Path(work) / "var")],
            capture_output=True,
            text=True,
            env={**clean, "PYTHONPATH": str(ROOT), **env},
            cwd=ROOT,
            check=False,
        )
    if result.returncode != 0:
        raise SystemExit(f"intake failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a 30 MB mail instead of 300 MB")
    parser.add_argument("--repeat", type=int, default=1, help="runs per backend (best time kept)")
    args = parser.parse_args()
    mail = build_mail(30 if args.quick else 300)
    proc, endpoint, logdir = start_moto()
    try:
        runs: dict[str, dict] = {}
        for n in range(args.repeat):
            for name, env in (("local", {}), ("s3", s3_env(endpoint, f"bench-{n}"))):
                got = intake(mail, env)
                if name not in runs or got["wall"] < runs[name]["wall"]:
                    runs[name] = got
    finally:
        stop_moto(proc, logdir)
    mb = 1 << 20
    size = mail.stat().st_size / mb
    print(f"mail {size:.0f} MB ({mail.name}), moto server at {endpoint}")
    print(f"{'backend':>8} {'seconds':>8} {'MB/s':>7} {'peak RSS':>9} {'files':>6}  states")
    for name, r in runs.items():
        print(
            f"{name:>8} {r['wall']:8.2f} {size / r['wall']:7.1f} {r['rss'] / mb:8.0f}M {r['files']:6d}  {r['states']}"
        )
    ratio = runs["s3"]["wall"] / runs["local"]["wall"]
    extra = (runs["s3"]["rss"] - runs["local"]["rss"]) / mb
    print(f"S3 / local time: {ratio:.2f}x (goal <= 1.5x); peak RSS S3 - local: {extra:+.0f} MB")


if __name__ == "__main__":
    main()
