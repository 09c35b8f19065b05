"""Benchmark: a unit's 300 MB upload on its page (tus) against a plain PUT to a static file server.

Starts the desk as `nomdesk serve` does (a subprocess on a fresh data directory with one unit
contact and her link), then uploads the same bytes over loopback with curl, in the same run:
(1) baseline: `curl -T file` PUT to a ~20-line Python server that writes the body to a file;
(2) the desk: the tus create (POST) and one `curl -T file -X PATCH` of the whole file.
Both alternate `--repeat` times (best time kept: loopback timings on a shared machine are
noisy); the desk's next upload starts once it has stored and checked the last one. Prints wall
times, their ratio, the desk process's RSS idle and at its highest while receiving (VmRSS sampled
every 10 ms), and its peak (VmHWM) once it has also stored and checked the files. Goals: peak RSS
< 120 MB, time <= 1.5x the baseline.

    .venv/bin/python bench/unit_upload.py [--mb 300] [--repeat 2]
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".cache" / "bench"
UNIT = "吉林大学"

PUT_SERVER = """
import http.server, sys
class Put(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_PUT(self):
        left = int(self.headers["Content-Length"])
        with open(sys.argv[2], "wb") as out:
            while left:
                piece = self.rfile.read(min(left, 1 << 20))
                if not piece:
                    break
                out.write(piece)
                left -= len(piece)
        self.send_response(201)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Put).serve_forever()
"""


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def memory(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (the peak) of a process, in bytes."""
    fields = dict(re.findall(r"^(VmRSS|VmHWM):\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text(), re.M))
    return {k: int(v) * 1024 for k, v in fields.items()}


class Sampler(threading.Thread):
    """The highest VmRSS of a process while it runs (a process's VmHWM cannot be reset)."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.done = pid, 0, threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.01):
            self.peak = max(self.peak, memory(self.pid)["VmRSS"])


def wait_for(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except OSError as exc:
            if getattr(exc, "code", None):  # an HTTP error: it answers
                return
            time.sleep(0.2)
    raise SystemExit(f"nothing answers at {url}")


def prepare(data_dir: Path) -> tuple[str, str]:
    """A data directory with one contact of UNIT; her link (valid for a day of real time) and CSRF value."""
    sys.path.insert(0, str(ROOT))
    from config.campaign import load_campaign
    from config.settings import Settings
    from nomdesk.service import Service
    from web.unit_auth import unit_csrf

    service = Service.build(Settings(data_dir=data_dir, database_url=None), load_campaign())
    try:
        contact = service.store.contacts.add(UNIT, "赵岩", emails=["zhaoyan@jlu.edu.cn"])
        expires = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
        token = service.store.unit_links.token_for(contact.id, expires)
    finally:
        service.shutdown()
    return token, unit_csrf(token)


def curl(*args: str) -> tuple[float, str]:
    start = time.perf_counter()
    out = subprocess.run(["curl", "-sS", "-H", "Expect:", *args], check=True, capture_output=True, text=True).stdout
    return time.perf_counter() - start, out


def baseline(port: int, video: Path, target: Path) -> float:
    wall, _ = curl("-T", str(video), f"http://127.0.0.1:{port}/video.mp4")
    assert target.stat().st_size == video.stat().st_size
    target.unlink()
    return wall


def tus_upload(base: str, token: str, csrf: str, video: Path) -> tuple[float, str]:
    meta = ",".join(
        f"{k} {base64.b64encode(v.encode()).decode()}"
        for k, v in {"filename": "宣传视频.mp4", "filetype": "video/mp4", "nominee": ""}.items()
    )
    tus = ["-H", "Tus-Resumable: 1.0.0"]
    start = time.perf_counter()
    _, head = curl(
        "-i", "-X", "POST", *tus, "-H", f"Upload-Length: {video.stat().st_size}",
        "-H", f"Upload-Metadata: {meta}", "-H", f"X-Nomdesk-Csrf: {csrf}", f"{base}/u/{token}/tus/",
    )  # fmt: skip
    location = re.search(r"^location: (\S+)", head, re.I | re.M)
    assert location, head
    curl(
        "-X", "PATCH", *tus, "-H", "Upload-Offset: 0", "-H", "Content-Type: application/offset+octet-stream",
        "-T", str(video), base + location.group(1),
    )  # fmt: skip
    return time.perf_counter() - start, location.group(1).rsplit("/", 1)[1]


def await_check(base: str, token: str, upload_id: str, seconds: float = 900) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"{base}/u/{token}/uploads/status?ids={upload_id}") as answer:
            state = json.load(answer)["uploads"][upload_id]["state"]
        if state not in ("receiving", "checking"):
            return state
        time.sleep(0.5)
    return "timeout"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=300, help="upload size in MiB")
    parser.add_argument("--repeat", type=int, default=2, help="baseline runs (best kept)")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from tests.support.big_video import big_video

    video = big_video(args.mb << 20)
    CACHE.mkdir(parents=True, exist_ok=True)
    mb = 1 << 20
    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        work = Path(tmp)
        data_dir = work / "var"
        token, csrf = prepare(data_dir)
        put_port, port = free_port(), free_port()
        env = {**os.environ, "PYTHONPATH": str(ROOT), "NOMDESK_DATA_DIR": str(data_dir)}
        env.pop("NOMDESK_DATABASE_URL", None)
        put = subprocess.Popen([sys.executable, "-c", PUT_SERVER, str(put_port), str(work / "put.bin")])
        desk = subprocess.Popen(
            [str(Path(sys.executable).with_name("nomdesk")), "serve", "--port", str(port)],
            env=env,
            cwd=ROOT,
            stderr=subprocess.DEVNULL,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            wait_for(f"http://127.0.0.1:{put_port}/")
            wait_for(base + "/healthz")
            idle = memory(desk.pid)
            base_walls, walls, checks, receiving = [], [], [], 0
            for _ in range(args.repeat):
                base_walls.append(baseline(put_port, video, work / "put.bin"))
                sampler = Sampler(desk.pid)
                sampler.start()
                wall, upload_id = tus_upload(base, token, csrf, video)
                sampler.done.set()
                sampler.join()
                receiving = max(receiving, sampler.peak)
                walls.append(wall)
                start = time.perf_counter()
                state = await_check(base, token, upload_id)
                checks.append((time.perf_counter() - start, state))
            checked = memory(desk.pid)
        finally:
            for process in (desk, put):
                process.terminate()
                process.wait(30)
    best_base, best = min(base_walls), min(walls)
    print(f"upload of {video.stat().st_size / mb:.0f} MiB over loopback (curl), best of {args.repeat}")
    print(f"  baseline PUT to a static file server: {best_base:6.2f} s   (runs: {_runs(base_walls)})")
    print(f"  desk tus create + one PATCH:          {best:6.2f} s   (runs: {_runs(walls)})")
    print(f"  time ratio {best / best_base:.2f}x (goal <= 1.5x)")
    print(f"  desk RSS idle {idle['VmRSS'] / mb:.0f} MB, highest while receiving {receiving / mb:.0f} MB", end="")
    print(" (goal < 120 MB)")
    stored = ", ".join(f"{s:.1f} s ({state})" for s, state in checks)
    print(f"  stored and checked after each upload in {stored}; desk peak RSS (VmHWM) {checked['VmHWM'] / mb:.0f} MB")


def _runs(walls: list[float]) -> str:
    return " ".join(f"{w:.2f}" for w in walls)


if __name__ == "__main__":
    main()
