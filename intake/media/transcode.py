"""A compliant copy of a video that fails the call's video spec only in how it was exported.

A unit's phone records HEVC in a QuickTime .mov at 1920x1080 and 30 fps; the call asks for an
H.264 MP4 at the exemplar's size and frame rate. Those properties are fixable by re-encoding,
so the desk offers a copy made to the exemplar spec (`campaign.exemplar.video`, which also meets
the project's and the star's container-only specs). A wrong duration is not: no encoder can
make a 2-minute story into a 4-minute one, so such a video never qualifies.

The command is built with ffmpeg-python and run as a subprocess whose `-progress pipe:1`
output is read line by line: `out_time_us` over the source's duration is the share done. The
preset is chosen for speed (a clerk waits on the page; the size of the copy is secondary).
Nothing here touches the database: the desk's runner (nomdesk/transcoding.py) stores results.
"""

from __future__ import annotations

import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ffmpeg

from config import Campaign
from config.campaign import VideoSpec
from intake.media.video import probe_video
from intake.models import FileProblem, PackageFile, VideoInfo

FFMPEG = "ffmpeg"
# The speed/size trade of libx264. For 30 s of 1080p30 HEVC the whole command costs ~12.8 CPU s
# at "veryfast", ~11 at "superfast" (HEVC decoding alone ~3.7, scaling ~1.2): only "superfast"
# leaves room for 4x real time on two cores (bench/transcode.py), at a larger but still
# previewable file; "ultrafast" drops CABAC and doubles the size again.
PRESET = "superfast"
# Bilinear is the cheapest scaler that still looks right for a 1.5x downscale; the filter graph
# runs on one thread, so the scaler is most of what the encoder's threads wait for.
SCALER = "bilinear"
CRF = 23  # libx264's default quality
AUDIO_BITRATE = "128k"
PIXEL_FORMAT = "yuv420p"  # what every browser and player decodes
# ffprobe's codec name -> the ffmpeg encoder that writes it.
ENCODERS = {"h264": "libx264"}
# The rules whose findings measure a video against a spec (validators/rules/{exemplar,project,star}.py)
# and the shortfalls (validators.measure.Shortfall.prop) a re-encode fixes.
SPEC_CODES = frozenset({"EXEMPLAR_VIDEO_SPEC", "PROJECT_VIDEO_SPEC", "STAR_VIDEO_SPEC"})
FIXABLE = frozenset({"container", "codec", "size", "fps"})
GLOBAL_ARGS = ("-nostdin", "-y", "-loglevel", "error", "-nostats", "-progress", "pipe:1")
STDERR_TAIL = 2000  # characters of ffmpeg's complaint kept for the office


class TranscodeError(Exception):
    """ffmpeg could not make the copy; `str(exc)` is the Chinese sentence, `detail` ffmpeg's own."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.detail = detail


class Cancelled(TranscodeError):
    """The desk stopped while the copy was being made; the job is taken up again later."""


@dataclass(frozen=True)
class Source:
    """What the command needs to know of the source: its length (for progress) and its sound."""

    duration: float | None
    has_audio: bool


def qualifies(findings: Iterable[tuple[str, Mapping[str, Any]]], file: str) -> bool:
    """Whether a re-encoded copy would fix every video-spec finding about `file` (its logical path).

    `findings`: (code, evidence) of the dossier's findings. The video qualifies when at least one
    spec finding names it and every one that does misses only in container, codec, size or frame
    rate: a duration, a missing picture or an unreadable measure is the unit's to fix."""
    props: set[str] = set()
    named = False
    for code, evidence in findings:
        if code not in SPEC_CODES or evidence.get("file") != file:
            continue
        named = True
        shortfalls = evidence.get("shortfalls") or []
        if not shortfalls:
            return False
        props.update(str(s.get("prop")) for s in shortfalls)
    return named and props <= FIXABLE


def target_spec(campaign: Campaign) -> VideoSpec:
    """The spec the copy is made to: the exemplar's, the strictest the call names."""
    return campaign.exemplar.video


def probe_source(path: Path, campaign: Campaign) -> Source:
    """The source measured as intake measures it (intake/media/video.py)."""
    info = probe_video(PackageFile(path=path.name, local=path, size=path.stat().st_size, sniffed="video"), campaign)
    if isinstance(info, FileProblem):
        raise TranscodeError(info.reason)
    assert isinstance(info, VideoInfo)
    if not info.has_video:
        raise TranscodeError("该文件没有视频画面，无法转换")
    return Source(duration=info.duration, has_audio=info.has_audio)


def transcode_args(source: Path, dest: Path, spec: VideoSpec, *, has_audio: bool, preset: str = PRESET) -> list[str]:
    """The ffmpeg command line (without the program) that writes `dest` as an MP4 meeting `spec`:
    scaled with its aspect kept and padded to the spec's size, at its frame rate, yuv420p, AAC
    sound when the source has sound, the index at the front so a browser plays it while loading."""
    encoder = ENCODERS.get((spec.codec or "h264").lower())
    if encoder is None:
        raise ValueError(f"no encoder known for codec {spec.codec!r}")
    stream = ffmpeg.input(str(source))
    video = stream.video
    if spec.fps:  # first: frames dropped here are never scaled
        video = video.filter("fps", fps=spec.fps)
    if spec.width and spec.height:
        video = video.filter(
            "scale",
            spec.width,
            spec.height,
            force_original_aspect_ratio="decrease",
            force_divisible_by=2,
            flags=SCALER,
        )
        video = video.filter("pad", spec.width, spec.height, "(ow-iw)/2", "(oh-ih)/2")
        video = video.filter("setsar", 1)
    streams = [video, stream.audio] if has_audio else [video]
    audio: dict[str, Any] = {"acodec": "aac", "audio_bitrate": AUDIO_BITRATE} if has_audio else {"an": None}
    out = ffmpeg.output(
        *streams,
        str(dest),
        vcodec=encoder,
        preset=preset,
        crf=CRF,
        pix_fmt=PIXEL_FORMAT,
        movflags="+faststart",
        threads=0,
        f="mp4",
        **audio,
    )
    # Global options first: ffmpeg may ignore options trailing the output file.
    return [*GLOBAL_ARGS, *out.get_args()]


def transcode(
    source: Path,
    dest: Path,
    campaign: Campaign,
    *,
    progress: Callable[[float], None] | None = None,
    cancel: threading.Event | None = None,
    preset: str = PRESET,
) -> None:
    """Write the compliant copy of `source` to `dest`, calling `progress(share)` (0..1) as ffmpeg
    reports. Raises TranscodeError (Chinese) when ffmpeg fails, Cancelled when `cancel` is set."""
    facts = probe_source(source, campaign)
    args = transcode_args(source, dest, target_spec(campaign), has_audio=facts.has_audio, preset=preset)
    with tempfile.TemporaryFile() as errors:
        try:
            proc = subprocess.Popen([FFMPEG, *args], stdout=subprocess.PIPE, stderr=errors, text=True)
        except FileNotFoundError as exc:
            raise TranscodeError("服务器未安装 ffmpeg，无法转换视频") from exc
        stopper = _stop_on(cancel, proc)
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                share = _share(line, facts.duration)
                if share is not None and progress is not None:
                    progress(share)
            code = proc.wait()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            if stopper is not None:
                stopper.set()
        if cancel is not None and cancel.is_set():
            raise Cancelled("转换已中止，稍后继续")
        if code != 0:
            errors.seek(0)
            detail = errors.read().decode("utf-8", "replace")[-STDERR_TAIL:]
            raise TranscodeError("视频转换失败，文件可能已损坏", detail=detail)
    if progress is not None:
        progress(1.0)


def _share(line: str, duration: float | None) -> float | None:
    """The share done from one `-progress` line: `out_time_us=...` over the duration; `progress=end`."""
    key, _, value = line.strip().partition("=")
    if key == "progress" and value == "end":
        return 1.0
    if key != "out_time_us" or not duration:
        return None
    try:
        micros = int(value)
    except ValueError:  # "N/A" before the first frame
        return None
    return min(max(micros / 1e6 / duration, 0.0), 1.0)


def _stop_on(cancel: threading.Event | None, proc: subprocess.Popen[str]) -> threading.Event | None:
    """A watcher that ends ffmpeg when `cancel` is set; the returned event ends the watcher."""
    if cancel is None:
        return None
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            if cancel.wait(0.2):
                if proc.poll() is None:
                    proc.terminate()
                return

    threading.Thread(target=watch, name="transcode-cancel", daemon=True).start()
    return done
