"""Benchmark: reading a big mail (a zip of videos) against just decoding its attachment.

Builds, once, ~100 MB and ~300 MB messages (cached under .cache/bench), then runs in
fresh subprocesses (1) `read_source` on each and (2) a baseline that only reads the
message and stream-decodes the attachment's base64 to a file. Prints wall time and peak
RSS of each and their ratios. Goals: time <= 2x baseline, peak <= 100 MB, and flat
from 100 MB to 300 MB.

    .venv/bin/python bench/intake_big_mail.py [--sizes 100 300]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".cache" / "bench"
BOUNDARY = "----=_Part_bench_0001"
VIDEO_BYTES = 40 << 20  # each random "video"

CHILD_READ = """
import json, resource, sys, tempfile, time
from pathlib import Path
from config import load_campaign
from intake.source import read_source
campaign = load_campaign()
with tempfile.TemporaryDirectory(dir=sys.argv[2]) as work:
    start = time.perf_counter()
    sub = read_source(Path(sys.argv[1]), Path(work), campaign)
    wall = time.perf_counter() - start
    files = len(sub.files)
print(json.dumps({"wall": wall, "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                  "files": files, "problems": len(sub.problems)}))
"""

CHILD_BASELINE = """
import binascii, json, resource, sys, tempfile, time
from pathlib import Path
start = time.perf_counter()
boundary = b"\\n--" + sys.argv[3].encode()
junk = bytes(b for b in range(256) if chr(b) not in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")
with open(sys.argv[1], "rb") as fh, tempfile.NamedTemporaryFile(dir=sys.argv[2]) as out:
    in_zip_headers = False
    for line in fh:  # skip to the blank line that ends the attachment's headers
        in_zip_headers = in_zip_headers or line.startswith(b"Content-Type: application/zip")
        if in_zip_headers and not line.strip():
            break
    rest = b""
    while True:
        block = fh.read(1 << 20)
        if not block:
            break
        end = block.find(boundary)
        data = rest + (block[:end] if end >= 0 else block).translate(None, junk)
        usable = len(data) - len(data) % 4
        out.write(binascii.a2b_base64(data[:usable]))
        rest = data[usable:]
        if end >= 0:
            break
    out.flush()
wall = time.perf_counter() - start
print(json.dumps({"wall": wall, "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
"""


def build_mail(target_mb: int) -> Path:
    """A message of about `target_mb` MB: a short text body and a stored zip of random 'videos'."""
    path = CACHE / f"big-{target_mb}.eml"
    if path.exists():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    zip_bytes = target_mb * (1 << 20) * 3 // 4
    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        archive = Path(tmp, "videos.zip")
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as zf:
            left, n = zip_bytes, 0
            while left > 0:
                n += 1
                size = min(VIDEO_BYTES, left)
                with zf.open(f"延边州推荐材料/终身学习品牌项目/项目{n}/宣传视频{n}.mp4", "w", force_zip64=True) as out:
                    written = 0
                    while written < size:
                        chunk = os.urandom(min(1 << 20, size - written))
                        out.write(chunk)
                        written += len(chunk)
                left -= size
        partial = path.with_suffix(".partial")
        with partial.open("wb") as out, archive.open("rb") as src:
            name = base64.b64encode("推荐材料.zip".encode()).decode()
            out.write(
                (
                    "Date: Sat, 21 Aug 2021 14:20:00 +0800\r\n"
                    "From: bench <bench@163.com>\r\nTo: jlqmxx@126.com\r\nSubject: bench\r\n"
                    "Message-ID: <bench@163.com>\r\nMIME-Version: 1.0\r\n"
                    f'Content-Type: multipart/mixed; boundary="{BOUNDARY}"\r\n\r\n'
                    f"--{BOUNDARY}\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n材料见附件\r\n"
                    f'--{BOUNDARY}\r\nContent-Type: application/zip; name="=?UTF-8?B?{name}?="\r\n'
                    "Content-Transfer-Encoding: base64\r\n"
                    f'Content-Disposition: attachment; filename="=?UTF-8?B?{name}?="\r\n\r\n'
                ).encode()
            )
            while chunk := src.read(57 * 20000):
                encoded = base64.b64encode(chunk)
                out.write(b"\r\n".join(encoded[i : i + 76] for i in range(0, len(encoded), 76)) + b"\r\n")
            out.write(f"--{BOUNDARY}--\r\n".encode())
        partial.replace(path)
    return path


def run_child(code: str, *args: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, check=True, cwd=ROOT
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 300], help="message sizes in MB")
    parser.add_argument("--repeat", type=int, default=2, help="runs per measurement (best time kept)")
    parser.add_argument(
        "--poll-messages", type=int, default=10_000, help="mailbox size for the empty-poll bench (0: skip it)"
    )
    args = parser.parse_args()
    rows = []
    for size in args.sizes:
        mail = build_mail(size)
        with tempfile.TemporaryDirectory(dir=CACHE) as work:
            base = min(
                (run_child(CHILD_BASELINE, str(mail), work, BOUNDARY) for _ in range(args.repeat)),
                key=lambda r: r["wall"],
            )
            ours = min((run_child(CHILD_READ, str(mail), work) for _ in range(args.repeat)), key=lambda r: r["wall"])
        rows.append((size, mail.stat().st_size, base, ours))
    mb = 1 << 20
    print(f"{'mail':>8} {'baseline s':>10} {'read s':>8} {'time x':>7} {'base RSS':>9} {'read RSS':>9} {'files':>6}")
    for _size, nbytes, base, ours in rows:
        print(
            f"{nbytes / mb:7.0f}M {base['wall']:10.2f} {ours['wall']:8.2f} {ours['wall'] / base['wall']:6.2f}x "
            f"{base['rss'] / mb:8.0f}M {ours['rss'] / mb:8.0f}M {ours['files']:6d}"
        )
    if len(rows) > 1:
        first, last = rows[0][3]["rss"], rows[-1][3]["rss"]
        print(f"peak RSS growth from {rows[0][0]} MB to {rows[-1][0]} MB mail: {(last - first) / mb:+.1f} MB")
    if args.poll_messages:
        # The other half of intake's cost: a poll that finds nothing new on a big mailbox (bench/imap_poll.py).
        sys.path.insert(0, str(ROOT))  # run as a script, bench/ is not a package on the path
        from bench import imap_poll

        print()
        argv, sys.argv = sys.argv, ["imap_poll", "--messages", str(args.poll_messages)]
        try:
            imap_poll.main()
        finally:
            sys.argv = argv


if __name__ == "__main__":
    main()
