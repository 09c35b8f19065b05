"""How long probing a large video takes, whole and cut short, against ffprobe's own run on the same file.

Builds a ~1 GB H.264 MP4 (10 s of noise at a high bitrate, looped by stream copy) in a
temporary folder, then probes it and a copy cut at half its bytes, as an interrupted upload.
The baseline, measured in the same run on the same files: one plain `ffprobe -show_format
-show_streams` (what any probe must at least run). Goal: probe_video <= 3x that baseline on
each file (it runs the usual probe plus one short packet read; nothing is decoded).

    .venv/bin/python -m bench.probe_media [DIR] [--mb 1000] [--repeat 3] [--quick]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from config import load_campaign
from intake.media.video import probe_video
from intake.models import PackageFile

TARGET_BYTES = 1_000_000_000
QUICK_BYTES = 200_000_000
GOAL_RATIO = 3.0


def build(path: Path, target_bytes: int = TARGET_BYTES) -> None:
    segment = path.with_name("segment.mp4")
    source = "color=c=gray:s=1280x720:r=25,noise=alls=60:allf=t+u"
    encode = ["-c:v", "libx264", "-preset", "ultrafast", "-qp", "12", "-g", "250", "-pix_fmt", "yuv420p"]
    _run(["-f", "lavfi", "-i", source, "-t", "10"], encode, [str(segment)])
    seconds = max(10, round(10 * target_bytes / segment.stat().st_size))
    _run(
        ["-stream_loop", "-1", "-i", str(segment), "-t", str(seconds)],
        ["-c", "copy", "-movflags", "+faststart", str(path)],
    )
    segment.unlink()


def _run(*parts: list[str]) -> None:
    args = [arg for part in parts for arg in part]
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *args], check=True, timeout=1800)


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def bare_ffprobe(path: Path) -> tuple[float, float]:
    """The baseline: ffprobe's usual stream/format probe of the file, run once; its wall and CPU time."""
    started, cpu = time.perf_counter(), children_cpu()
    subprocess.run(
        ["ffprobe", "-v", "error", "-of", "json", "-show_format", "-show_streams", str(path)],
        capture_output=True, check=False, timeout=600,
    )  # fmt: skip
    return time.perf_counter() - started, children_cpu() - cpu


def timed(path: Path, repeat: int) -> float:
    """Median seconds of probe_video against the baseline's, interleaved; prints both and the ratio."""
    campaign = load_campaign()
    file = PackageFile(path=path.name, local=path, size=path.stat().st_size, sniffed="mp4")
    ours, base, ours_cpu, base_cpu = [], [], [], []
    outcome = None
    for _ in range(repeat):  # interleaved, so a slow moment of the machine hits both
        wall, cpu = bare_ffprobe(path)
        base.append(wall)
        base_cpu.append(cpu)
        started, cpu = time.perf_counter(), children_cpu() + time.process_time()
        outcome = probe_video(file, campaign)
        ours.append(time.perf_counter() - started)
        ours_cpu.append(children_cpu() + time.process_time() - cpu)
    ratio = statistics.median(ours) / statistics.median(base)
    cpu_ratio = statistics.median(ours_cpu) / statistics.median(base_cpu)
    print(
        f"{path.name}: {file.size / 1e6:.0f} MB; baseline ffprobe {statistics.median(base):.3f} s, "
        f"probe_video {statistics.median(ours):.3f} s (medians of {repeat}) -> {ratio:.2f}x baseline "
        f"(CPU, ffprobe included: {cpu_ratio:.2f}x)"
    )
    print(f"  outcome: {outcome}")
    return ratio


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", nargs="?", help="folder for the temporary video (default: the system's temp)")
    parser.add_argument("--mb", type=int, default=TARGET_BYTES // 1_000_000, help="size of the video in MB")
    parser.add_argument("--repeat", type=int, default=3, help="runs per file (median kept)")
    parser.add_argument("--quick", action="store_true", help=f"a {QUICK_BYTES // 1_000_000} MB video, 3 runs")
    args = parser.parse_args()
    target = QUICK_BYTES if args.quick else args.mb * 1_000_000

    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        whole = Path(tmp) / "whole.mp4"
        started = time.perf_counter()
        build(whole, target)
        print(f"built in {time.perf_counter() - started:.1f} s")
        ratios = {"whole": timed(whole, args.repeat)}
        cut = Path(tmp) / "cut.mp4"
        with whole.open("rb") as src, cut.open("wb") as dst:
            dst.write(src.read(whole.stat().st_size // 2))
        ratios["cut"] = timed(cut, args.repeat)
    ok = True
    for name, ratio in ratios.items():
        met = ratio <= GOAL_RATIO
        ok = ok and met
        print(f"goal probe_video <= {GOAL_RATIO:.0f}x ffprobe ({name}): {ratio:.2f}x, {'met' if met else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
