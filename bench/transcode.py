"""How fast the desk makes a compliant copy of a phone's 1080p HEVC video, beside ffmpeg's own run.

Builds once (cached in DIR) a 4.5-minute 1920x1080 30 fps HEVC .mov with sound (ffmpeg's
testsrc2 pattern and a tone, a 30 s segment looped), then times, in the same run on the same file:
- ours: `intake.media.transcode.transcode` (probe, ffmpeg-python's command, progress read from
  `-progress pipe:1`), to the campaign's exemplar spec;
- ffmpeg's own command line written by hand for the same settings (scale+pad, fps, libx264 at
  the same preset and CRF, yuv420p, AAC, +faststart).
Prints each as seconds and "x real time" (source seconds / wall seconds) and ours/ffmpeg.
Goal: ours >= 4x real time on 2 cores.

    .venv/bin/python -m bench.transcode [DIR] [--seconds 270] [--preset superfast] [--repeat 1]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import time
from pathlib import Path

from config import load_campaign
from intake.media.transcode import AUDIO_BITRATE, CRF, PRESET, SCALER, probe_source, target_spec, transcode

SOURCE_SECONDS = 270  # 4.5 minutes, the length of a usual exemplar video
SEGMENT_SECONDS = 30
GOAL_SPEED = 4.0


def build(path: Path, seconds: int) -> None:
    """The source, as a phone writes it: HEVC in QuickTime, 1080p at 30 fps, AAC sound. A 30 s
    segment is encoded (libx265 is slow to write at 1080p) and looped by stream copy to length:
    decoding it costs what decoding as long a recording would."""
    segment = path.with_name(f"segment-{SEGMENT_SECONDS}s.mov")
    if not segment.exists():
        _ffmpeg(
            "-f", "lavfi", "-i", f"testsrc2=size=1920x1080:rate=30:duration={SEGMENT_SECONDS}",
            "-f", "lavfi", "-i", f"sine=frequency=440:duration={SEGMENT_SECONDS}",
            "-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error", "-b:v", "2M",
            "-tag:v", "hvc1", "-c:a", "aac", "-shortest", str(segment),
        )  # fmt: skip
    tmp = path.with_suffix(".part.mov")
    _ffmpeg("-stream_loop", "-1", "-i", str(segment), "-t", str(seconds), "-c", "copy", "-tag:v", "hvc1", str(tmp))
    tmp.rename(path)


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *args], check=True, timeout=3600)


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def ffmpeg_own(source: Path, dest: Path, preset: str) -> float:
    """The baseline: the same settings as one plain ffmpeg command line; its wall time."""
    spec = target_spec(load_campaign())
    w, h = spec.width, spec.height
    vf = (
        f"fps={spec.fps},scale={w}:{h}:force_original_aspect_ratio=decrease:flags={SCALER},"
        f"pad={w}:{h}:(ow-iw)/2:(oh-ih)/2,setsar=1"
    )
    started = time.perf_counter()
    subprocess.run(
        [
            "ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(source), "-vf", vf,
            "-c:v", "libx264", "-preset", preset, "-crf", str(CRF), "-pix_fmt", "yuv420p",
            "-c:a", "aac", "-b:a", AUDIO_BITRATE, "-movflags", "+faststart", str(dest),
        ],
        check=True,
        timeout=3600,
    )  # fmt: skip
    return time.perf_counter() - started


def ours(source: Path, dest: Path, preset: str) -> tuple[float, int]:
    """Our transcode's wall time and how many progress reports it made."""
    reports: list[float] = []
    started = time.perf_counter()
    transcode(source, dest, load_campaign(), progress=reports.append, preset=preset)
    return time.perf_counter() - started, len(reports)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dir", nargs="?", default=str(Path.home() / ".cache" / "nomdesk-bench"))
    parser.add_argument("--seconds", type=int, default=SOURCE_SECONDS)
    parser.add_argument("--preset", default=PRESET)
    parser.add_argument("--repeat", type=int, default=1, help="rounds; the best of each side is reported")
    args = parser.parse_args()
    folder = Path(args.dir)
    folder.mkdir(parents=True, exist_ok=True)
    source = folder / f"hevc-1080p30-{args.seconds}s.mov"
    if not source.exists():
        started = time.perf_counter()
        build(source, args.seconds)
        print(f"built {source.name} in {time.perf_counter() - started:.0f} s")
    duration = probe_source(source, load_campaign()).duration or float(args.seconds)
    print(f"source: {source.name}, {duration:.1f} s, {source.stat().st_size / 1e6:.0f} MB; cores: {os.cpu_count()}")
    own_runs: list[tuple[float, float]] = []
    our_runs: list[tuple[float, float]] = []
    reports = 0
    for _ in range(args.repeat):  # alternated, best of each: the machine's other work varies
        print(f"load average before a round: {os.getloadavg()[0]:.2f}")
        cpu = children_cpu()
        own_runs.append((ffmpeg_own(source, folder / "ffmpeg-own.mp4", args.preset), children_cpu() - cpu))
        cpu = children_cpu()
        mine, reports = ours(source, folder / "ours.mp4", args.preset)
        our_runs.append((mine, children_cpu() - cpu))
    own, own_cpu = min(own_runs)
    mine, mine_cpu = min(our_runs)
    print(f"load average after: {os.getloadavg()[0]:.2f} (other work on the machine slows both alike)")
    print(f"ffmpeg command line ({args.preset}): {own:.1f} s = {duration / own:.2f}x real time, {own_cpu:.0f} CPU s")
    print(
        f"ours ({args.preset}, {reports} progress reports): {mine:.1f} s = {duration / mine:.2f}x real time, "
        f"{mine_cpu:.0f} CPU s"
    )
    print(
        "all runs (wall s): ffmpeg "
        + ", ".join(f"{w:.1f}" for w, _ in own_runs)
        + "; ours "
        + ", ".join(f"{w:.1f}" for w, _ in our_runs)
    )
    print(f"ours / ffmpeg: {mine / own:.2f}x the time")
    verdict = "met" if duration / mine >= GOAL_SPEED else "NOT met"
    print(f"goal >= {GOAL_SPEED:.0f}x real time: {verdict}")


if __name__ == "__main__":
    main()
