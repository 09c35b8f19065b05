"""Measuring media against a spec, and saying the measurement in Chinese.

Kept apart from the rules so that the star, project and exemplar rules apply one
definition of "within spec" (inclusive bounds, the configured slack and fps tolerance)
and name the measured value the same way everywhere ("2分31秒", "1280×720").
"""

from __future__ import annotations

from dataclasses import dataclass

from config.campaign import IdPhoto, Tolerances, VideoSpec
from intake.models import PhotoInfo, VideoInfo

# Float noise only: 25.1 - 25 is 0.10000000000000142, which must still count as 0.1.
_EPS = 1e-6


def format_duration(seconds: float) -> str:
    """151 -> "2分31秒", 240 -> "4分钟", 42 -> "42秒"."""
    total = round(seconds)
    minutes, secs = divmod(total, 60)
    if minutes and secs:
        return f"{minutes}分{secs}秒"
    if minutes:
        return f"{minutes}分钟"
    return f"{secs}秒"


def format_duration_range(min_seconds: float, max_seconds: float) -> str:
    """The required range as the notice says it: "4-5 分钟", else "2分30秒-4分钟"."""
    if min_seconds % 60 == 0 and max_seconds % 60 == 0:
        return f"{int(min_seconds // 60)}-{int(max_seconds // 60)} 分钟"
    return f"{format_duration(min_seconds)}-{format_duration(max_seconds)}"


def format_count_range(low: int, high: int) -> str:
    """ "2" when both ends agree, else "4-10"."""
    return str(low) if low == high else f"{low}-{high}"


def format_fps(fps: float) -> str:
    return f"{fps:.3f}".rstrip("0").rstrip(".")


@dataclass(frozen=True)
class Shortfall:
    """One property of a file that misses its spec: what, as measured, as required."""

    prop: str  # stable key: container, video_stream, codec, size, fps, duration
    label_zh: str
    measured: str
    required: str
    # The sentence a clerk reads, when "格式 MOV，要求 MP4" would not tell her what is wrong or what to do.
    text: str | None = None

    def zh(self) -> str:
        return self.text or f"{self.label_zh} {self.measured}，要求 {self.required}"

    def as_dict(self) -> dict[str, str]:
        return {"prop": self.prop, "measured": self.measured, "required": self.required}


def duration_ok(seconds: float, spec: VideoSpec, tolerances: Tolerances) -> bool:
    slack = tolerances.duration_slack_seconds
    return spec.min_seconds - slack - _EPS <= seconds <= spec.max_seconds + slack + _EPS


def fps_ok(fps: float, wanted: float, tolerances: Tolerances) -> bool:
    return abs(fps - wanted) <= tolerances.fps_tolerance + _EPS


def video_shortfalls(info: VideoInfo, spec: VideoSpec, tolerances: Tolerances, path: str = "") -> list[Shortfall]:
    """Every property of the video that misses the spec; empty when it meets it. `path`: the file's
    name, to say when it is named .mp4 but is another kind of video inside.

    Codec, size and fps are checked only where the spec names them (the exemplar's).
    A variable frame rate passes when its average is within tolerance (RULES.md
    "Tolerances") and is named as such when it does not.
    """
    out: list[Shortfall] = []
    containers = [c.lower() for c in spec.containers]
    if info.container.lower() not in containers:
        out.append(_container_shortfall(info.container, containers, spec, path))
    if not info.has_video:
        out.append(Shortfall("video_stream", "画面", "无视频画面（仅有音频）", "含视频画面"))
    else:
        if spec.codec and (info.codec or "").lower() != spec.codec.lower():
            measured = _codec_zh(info.codec) if info.codec else "未知"
            out.append(Shortfall("codec", "编码", measured, _codec_zh(spec.codec)))
        if spec.width and spec.height and (info.width, info.height) != (spec.width, spec.height):
            measured = f"{info.width}×{info.height}" if info.width and info.height else "未知"
            out.append(Shortfall("size", "分辨率", measured, f"{spec.width}×{spec.height}"))
        if spec.fps:
            wanted = format_fps(spec.fps)
            if info.fps is None:
                measured = "可变帧率" if info.variable_frame_rate else "未知"
                out.append(Shortfall("fps", "帧率", measured, f"{wanted} fps"))
            elif not fps_ok(info.fps, spec.fps, tolerances):
                measured = f"{format_fps(info.fps)} fps"
                if info.variable_frame_rate:
                    measured = f"可变帧率（平均 {measured}）"
                out.append(Shortfall("fps", "帧率", measured, f"{wanted} fps"))
    required = format_duration_range(spec.min_seconds, spec.max_seconds)
    if info.duration is None:
        out.append(Shortfall("duration", "时长", "未知", required))
    elif not duration_ok(info.duration, spec, tolerances):
        out.append(Shortfall("duration", "时长", format_duration(info.duration), required))
    return out


# A container as a clerk's video tool or phone names it ("mov" is what iPhones and Macs record).
CONTAINER_NAMES_ZH = {"mov": "QuickTime（MOV）", "mkv": "MKV", "webm": "WebM", "flv": "FLV", "avi": "AVI", "3gp": "3GP"}


def _container_shortfall(container: str, containers: list[str], spec: VideoSpec, path: str) -> Shortfall:
    """The wrong container said so a clerk can act: a file named .mp4 that is a QuickTime movie inside
    is the common case (renamed, or saved so by a phone), and renaming it again does not help."""
    wanted = "/".join(c.upper() for c in containers)
    real = CONTAINER_NAMES_ZH.get(container.lower(), container.upper())
    ext = path.rsplit(".", 1)[-1].lower() if "." in path.rsplit("/", 1)[-1] else ""
    fix = f"请用剪辑软件或视频格式转换工具导出（转换）为 {wanted}（{_codec_zh(spec.codec or 'h264')} 编码）"
    gap = "" if real.endswith("）") else " "  # "QuickTime（MOV）格式", "AVI 格式"
    if ext in containers:
        text = f"文件名是 .{ext}，但实际是 {real}{gap}格式的视频，不是 {wanted}；{fix}，只改文件扩展名无效"
    else:
        text = f"格式为 {real}，要求 {wanted}；{fix}"
    return Shortfall("container", "格式", container.upper(), wanted, text)


def _codec_zh(codec: str) -> str:
    """ffprobe's codec name as a clerk's video tool shows it."""
    return CODEC_NAMES_ZH.get(codec.lower(), codec)


CODEC_NAMES_ZH = {"h264": "H.264", "hevc": "H.265（HEVC）", "mpeg4": "MPEG-4", "vp9": "VP9", "av1": "AV1"}


def photo_ratio(info: PhotoInfo) -> float:
    return info.width / info.height if info.height else 0.0


def id_photo_shortfalls(info: PhotoInfo, spec: IdPhoto) -> list[Shortfall]:
    """Why a photo is not a 2-inch colour ID photo (sizes after EXIF rotation); empty when it is."""
    out: list[Shortfall] = []
    size = f"{info.width}×{info.height}"
    if info.width >= info.height:
        out.append(Shortfall("orientation", "方向", f"横版 {size}", "竖版"))
    ratio = photo_ratio(info)
    if not spec.min_ratio - _EPS <= ratio <= spec.max_ratio + _EPS:
        out.append(Shortfall("ratio", "宽高比", f"{ratio:.2f}", f"{spec.min_ratio:.2f}-{spec.max_ratio:.2f}"))
    if info.width < spec.min_width or info.height < spec.min_height:
        out.append(Shortfall("size", "尺寸", size, f"至少 {spec.min_width}×{spec.min_height} 像素"))
    if not info.colour:
        out.append(Shortfall("colour", "颜色", "黑白", "彩色"))
    return out
