"""Probe a video with the real ffprobe: container, codec, displayed size, frame rate, duration.

Nothing is decoded. Besides the usual stream/format probe, one more ffprobe call reads the
packets of the last seconds to prove the file really reaches its declared duration: an
upload cut short keeps its MP4 index (moov at the front) but loses the end of its media
data, and only reading where the packets should be tells the two apart.

ffmpeg-python's `ffmpeg.probe` cannot take a timeout, so ffprobe is called here with the
same arguments through `subprocess.run(timeout=...)`: a hung or pathological file must not
stall intake.
"""

from __future__ import annotations

import json
import logging
import subprocess
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from config import Campaign
from intake.models import FileProblem, PackageFile, VideoInfo

log = logging.getLogger(__name__)

FFPROBE = "ffprobe"
PROBE_TIMEOUT_SECONDS = 60
# Seconds of packets read at a time by the truncation check; about one GOP of usual footage.
TAIL_WINDOW_SECONDS = 10.0
# A file is truncated when its packets end more than this before the declared duration
# (absolute seconds, or this share of the duration, whichever is larger): container
# rounding and audio priming account for a fraction of a second.
TRUNCATION_SLACK_SECONDS = 1.0
TRUNCATION_SLACK_SHARE = 0.01
# Variable frame rate: ffprobe's r_frame_rate is the base rate every timestamp fits, and
# avg_frame_rate is frames / duration. On constant-rate footage they agree (to rounding);
# when they differ by more than 1 % the frame timing varies. An exact 2:1 ratio is a
# field rate (interlaced footage), not a variable rate.
VFR_RELATIVE_DIFFERENCE = 0.01

# ffprobe format_name (its first demuxer name) -> our container name. ISO media ("mov,mp4,...")
# and Matroska are decided separately, from the brand and the EBML doctype.
CONTAINERS = {
    "avi": "avi",
    "flv": "flv",
    "asf": "wmv",
    "mpeg": "mpeg",
    "mpegvideo": "mpeg",
    "mpegts": "ts",
    "rm": "rm",
    "ogg": "ogg",
}
QUICKTIME_BRAND = "qt"


class ProbeError(Exception):
    """ffprobe could not give an answer; `reason` is the Chinese sentence for the unit."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


def probe_video(file: PackageFile, campaign: Campaign) -> VideoInfo | FileProblem:
    """`campaign` is not needed for the measurement itself; the spec is the validators' job."""
    try:
        data = _ffprobe(["-show_format", "-show_streams"], file.local)
        info = _video_info(data, file)
        if info.duration and not _iso_boxes_whole(file.local, data):
            actual = _readable_end(file.local, data, info.duration)
            if actual is not None:
                return _problem(
                    file,
                    f"视频文件不完整（可能上传中断）：实际约 {actual:.0f} 秒，声明 {info.duration:.0f} 秒",
                    actual_seconds=round(actual, 1),
                    declared_seconds=round(info.duration, 1),
                )
        return info
    except ProbeError as exc:
        return _problem(file, exc.reason, detail=exc.detail) if exc.detail else _problem(file, exc.reason)


def _ffprobe(args: list[str], path: Path) -> dict[str, Any]:
    cmd = [FFPROBE, "-v", "error", "-of", "json", *args, str(path)]
    try:
        done = subprocess.run(cmd, capture_output=True, timeout=PROBE_TIMEOUT_SECONDS, check=False)
    except FileNotFoundError as exc:
        raise ProbeError("服务器未安装 ffprobe，无法检查视频") from exc
    except subprocess.TimeoutExpired as exc:
        raise ProbeError(f"读取视频超时（超过 {PROBE_TIMEOUT_SECONDS} 秒），文件可能已损坏") from exc
    if done.returncode != 0:
        stderr = done.stderr.decode("utf-8", "replace").strip()
        raise ProbeError(_reason_for(stderr), detail=stderr[-500:])
    try:
        return json.loads(done.stdout.decode("utf-8", "replace") or "{}")
    except json.JSONDecodeError as exc:
        raise ProbeError("视频文件无法读取", detail=str(exc)) from exc


def _reason_for(stderr: str) -> str:
    text = stderr.lower()
    if "moov atom not found" in text:
        return "视频文件不完整（缺少 MP4 索引，可能上传中断）"
    if "invalid data found" in text or "could not find codec parameters" in text:
        return "视频文件已损坏或不是视频"
    if "no such file" in text or "permission denied" in text:
        return "视频文件无法打开"
    return "视频文件已损坏或格式无法识别"


def _video_info(data: dict[str, Any], file: PackageFile) -> VideoInfo:
    fmt = data.get("format") or {}
    format_name = fmt.get("format_name") or ""
    if not format_name:
        raise ProbeError("视频文件已损坏或格式无法识别")
    streams = data.get("streams") or []
    videos = [
        s for s in streams if s.get("codec_type") == "video" and not (s.get("disposition") or {}).get("attached_pic")
    ]
    has_audio = any(s.get("codec_type") == "audio" for s in streams)
    brand = ((fmt.get("tags") or {}).get("major_brand") or "").strip() or None
    info: dict[str, Any] = {
        "container": _container(format_name, brand, file),
        "major_brand": brand,
        "format_name": format_name,
        "has_video": bool(videos),
        "has_audio": has_audio,
        "duration": _duration(fmt, streams),
    }
    if videos:
        stream = videos[0]
        rotation = _rotation(stream)
        width, height = stream.get("width"), stream.get("height")
        if rotation in (90, 270):
            width, height = height, width
        avg = _rate(stream.get("avg_frame_rate"))
        base = _rate(stream.get("r_frame_rate"))
        info.update(
            codec=stream.get("codec_name"),
            width=width,
            height=height,
            rotation=rotation,
            fps=round(float(avg), 3) if avg else (round(float(base), 3) if base else None),
            variable_frame_rate=_variable(avg, base),
        )
    return VideoInfo(**info)


def _container(format_name: str, brand: str | None, file: PackageFile) -> str:
    names = format_name.split(",")
    if "mp4" in names:
        # ISO base media: the ftyp brand tells MP4 from QuickTime (and 3GP phones).
        if brand is None or brand.lower() == QUICKTIME_BRAND:
            return "mov"  # "qt  ", or an old QuickTime file with no ftyp at all
        if brand.lower().startswith(("3gp", "3g2")):
            return "3gp"
        return "mp4"
    if "matroska" in names or "webm" in names:
        return "webm" if _ebml_doctype(file.local) == "webm" else "mkv"
    return CONTAINERS.get(names[0], names[0])


def _ebml_doctype(path: Path) -> str | None:
    """The DocType of a Matroska/WebM header ("matroska" or "webm"); ffprobe names both alike."""
    try:
        with path.open("rb") as fp:
            head = fp.read(64)
    except OSError:
        return None
    at = head.find(b"\x42\x82")
    if at < 0 or at + 3 > len(head):
        return None
    size_byte = head[at + 2]
    if not size_byte & 0x80:  # only the one-byte size form is used for a DocType this short
        return None
    size = size_byte & 0x7F
    return head[at + 3 : at + 3 + size].decode("ascii", "replace")


def _rotation(stream: dict[str, Any]) -> int:
    """Clockwise degrees the player turns the picture, as phones' "rotate" tag says it.

    Newer ffprobe drops the tag and gives the display matrix instead, whose rotation is
    counter-clockwise.
    """
    tag = (stream.get("tags") or {}).get("rotate")
    if tag is not None:
        try:
            return int(float(tag)) % 360
        except ValueError:
            pass
    for side in stream.get("side_data_list") or []:
        if "rotation" in side:
            try:
                return round(-float(side["rotation"])) % 360
            except (TypeError, ValueError):
                continue
    return 0


def _rate(text: Any) -> Fraction | None:
    try:
        value = Fraction(str(text))
    except (ValueError, ZeroDivisionError):
        return None
    return value if value > 0 else None


def _variable(avg: Fraction | None, base: Fraction | None) -> bool:
    if not avg or not base:
        return False
    if base == 2 * avg:
        return False
    return abs(base - avg) / base > VFR_RELATIVE_DIFFERENCE


def _duration(fmt: dict[str, Any], streams: list[dict[str, Any]]) -> float | None:
    for value in [fmt.get("duration"), *(s.get("duration") for s in streams)]:
        try:
            seconds = float(value)
        except (TypeError, ValueError):
            continue
        if seconds > 0:
            return seconds
    return None


@dataclass
class _Tail:
    end: float | None  # where the packets read end (seconds from the start), None when none were read


def _iso_boxes_whole(path: Path, data: dict[str, Any]) -> bool:
    """True when an MP4/MOV file is evidently whole: its top-level boxes tile the file exactly and
    it has its index (moov) and media data (a non-empty mdat, or fragments). A cut upload leaves
    its last box reaching past the end of the file. Reading a few box headers costs nothing;
    when this cannot tell (another container, a box "to the end of file"), the packets are read.
    """
    if "mp4" not in str((data.get("format") or {}).get("format_name", "")):
        return False
    size = path.stat().st_size
    seen: set[bytes] = set()
    offset = 0
    try:
        with path.open("rb") as fh:
            while offset < size:
                fh.seek(offset)
                header = fh.read(16)
                if len(header) < 8:
                    return False
                length, kind = int.from_bytes(header[:4], "big"), header[4:8]
                if length == 1 and len(header) == 16:
                    length = int.from_bytes(header[8:16], "big")
                if length < 8:  # 0: "to the end of the file", cannot tell; below 8: damaged
                    return False
                if (kind == b"mdat" and length > 16) or kind in (b"moov", b"moof"):
                    seen.add(kind)
                offset += length
    except OSError:
        return False
    return offset == size and b"moov" in seen and (b"mdat" in seen or b"moof" in seen)


def _readable_end(path: Path, data: dict[str, Any], declared: float) -> float | None:
    """Where a truncated file's packets really end, or None when it reaches its declared duration.

    First the last window before the declared end is read. When nothing comes back there,
    the readable end is bisected with windowed reads, so a cut 1 GB file costs a handful of
    short ffprobe calls and no full read.
    """
    start = _float((data.get("format") or {}).get("start_time")) or 0.0
    slack = max(TRUNCATION_SLACK_SECONDS, TRUNCATION_SLACK_SHARE * declared)
    try:
        tail = _packets_end(path, start, max(declared - TAIL_WINDOW_SECONDS, 0.0), None)
    except ProbeError as exc:
        # A demuxer that cannot seek: no evidence either way, so the file is not accused.
        log.info("truncation check skipped for %s: %s", path.name, exc.detail or exc.reason)
        return None
    if tail.end is not None:
        return tail.end if tail.end < declared - slack else None
    low, high = 0.0, max(declared - TAIL_WINDOW_SECONDS, 0.0)
    while high - low > TAIL_WINDOW_SECONDS:
        middle = (low + high) / 2
        try:
            window = _packets_end(path, start, middle, TAIL_WINDOW_SECONDS)
        except ProbeError:
            return None
        if window.end is None:
            high = middle
        elif window.end < middle + TAIL_WINDOW_SECONDS - slack:
            return window.end  # the cut lies inside this window
        else:
            low = window.end
    return low


def _packets_end(path: Path, start: float, offset: float, length: float | None) -> _Tail:
    # An absolute end: ffprobe counts a "+duration" end from the keyframe the seek lands on.
    interval = f"{start + offset:.3f}%" + (f"{start + offset + length:.3f}" if length is not None else "")
    data = _ffprobe(["-read_intervals", interval, "-show_entries", "packet=pts_time,dts_time,duration_time"], path)
    end: float | None = None
    for packet in data.get("packets") or []:
        at = _float(packet.get("pts_time"))
        if at is None:
            at = _float(packet.get("dts_time"))
        if at is None:
            continue
        finish = at + (_float(packet.get("duration_time")) or 0.0) - start
        end = finish if end is None else max(end, finish)
    return _Tail(end)


def _float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _problem(file: PackageFile, reason: str, **params: Any) -> FileProblem:
    return FileProblem(code="FILE_UNREADABLE", path=file.path, reason=reason, params=params, submission=file.submission)
