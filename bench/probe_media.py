"""How long probing a large video takes, whole and cut short (run: python -m bench.probe_media).

Builds a ~1 GB H.264 MP4 (10 s of noise at a high bitrate, looped by stream copy) in a
temporary folder, then probes it and a copy cut at half its bytes, as an interrupted upload.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from config import load_campaign
from intake.media.video import probe_video
from intake.models import PackageFile

TARGET_BYTES = 1_000_000_000


def build(path: Path) -> None:
    segment = path.with_name("segment.mp4")
    source = "color=c=gray:s=1280x720:r=25,noise=alls=60:allf=t+u"
    encode = ["-c:v", "libx264", "-preset", "ultrafast", "-qp", "12", "-g", "250", "-pix_fmt", "yuv420p"]
    _run(["-f", "lavfi", "-i", source, "-t", "10"], encode, [str(segment)])
    seconds = max(10, round(10 * TARGET_BYTES / segment.stat().st_size))
    _run(
        ["-stream_loop", "-1", "-i", str(segment), "-t", str(seconds)],
        ["-c", "copy", "-movflags", "+faststart", str(path)],
    )
    segment.unlink()


def _run(*parts: list[str]) -> None:
    args = [arg for part in parts for arg in part]
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *args], check=True, timeout=1800)


def timed(path: Path) -> None:
    campaign = load_campaign()
    file = PackageFile(path=path.name, local=path, size=path.stat().st_size, sniffed="mp4")
    started = time.perf_counter()
    outcome = probe_video(file, campaign)
    print(f"{path.name}: {file.size / 1e6:.0f} MB, {time.perf_counter() - started:.2f} s -> {outcome}")


def main() -> None:
    with tempfile.TemporaryDirectory(dir=sys.argv[1] if len(sys.argv) > 1 else None) as tmp:
        whole = Path(tmp) / "whole.mp4"
        started = time.perf_counter()
        build(whole)
        print(f"built in {time.perf_counter() - started:.1f} s")
        timed(whole)
        cut = Path(tmp) / "cut.mp4"
        with whole.open("rb") as src, cut.open("wb") as dst:
            dst.write(src.read(whole.stat().st_size // 2))
        timed(cut)


if __name__ == "__main__":
    main()
