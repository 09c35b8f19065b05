"""Photo and video fixtures, made by code (Pillow, the real ffmpeg) and cached per parameters.

Videos are cheap even when long: a few seconds of a flat grey picture are encoded once at
the lowest quality, then looped by stream copy to the wanted length, so a 270 s 1280x720
25 fps H.264 MP4 takes well under a second and a few hundred KB, with every property a
rule measures (container, codec, size, frame rate, duration) exactly as asked.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import tempfile
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from tests.support.cache import cached_file

# Bump when the builders change what they write, so stale cached fixtures are not reused.
VERSION = 2
FFMPEG_TIMEOUT = 120
SEGMENT_SECONDS = 10.0  # one GOP, encoded once and looped

PHOTO_SUFFIXES = {
    "JPEG": ".jpg",
    "PNG": ".png",
    "HEIF": ".heic",
    "HEIC": ".heic",
    "WEBP": ".webp",
    "BMP": ".bmp",
    "GIF": ".gif",
    "TIFF": ".tif",
}

# container -> (ffmpeg muxer, file suffix, audio codec and its options)
CONTAINERS: dict[str, tuple[str, str, list[str]]] = {
    "mp4": ("mp4", ".mp4", ["-c:a", "aac", "-b:a", "8k"]),
    "mov": ("mov", ".mov", ["-c:a", "aac", "-b:a", "8k"]),
    "3gp": ("3gp", ".3gp", ["-c:a", "aac", "-b:a", "8k"]),
    "mkv": ("matroska", ".mkv", ["-c:a", "aac", "-b:a", "8k"]),
    "webm": ("webm", ".webm", ["-c:a", "libopus", "-b:a", "8k"]),
    "avi": ("avi", ".avi", ["-c:a", "mp2", "-b:a", "32k"]),
    "flv": ("flv", ".flv", ["-c:a", "aac", "-b:a", "8k"]),
    "wmv": ("asf", ".wmv", ["-c:a", "wmav2", "-b:a", "32k"]),
    "mpeg": ("mpeg", ".mpg", ["-c:a", "mp2", "-b:a", "32k"]),
    "ts": ("mpegts", ".ts", ["-c:a", "aac", "-b:a", "8k"]),
}

# codec -> the quality options that keep it tiny
CODEC_OPTIONS: dict[str, list[str]] = {
    "libx264": ["-preset", "ultrafast", "-tune", "stillimage", "-crf", "51"],
    "libx265": ["-preset", "ultrafast", "-crf", "51", "-x265-params", "log-level=error"],
    "libvpx-vp9": ["-deadline", "realtime", "-cpu-used", "8", "-b:v", "20k"],
    "libvpx": ["-deadline", "realtime", "-cpu-used", "16", "-b:v", "20k"],
}
DEFAULT_CODEC_OPTIONS = ["-q:v", "31"]  # mpeg4, mpeg1video, mpeg2video, wmv2, flv1, h263 ...


def make_photo(
    width: int,
    height: int,
    *,
    fmt: str = "JPEG",
    grey: bool = False,
    exif_orientation: int | None = None,
    text: str | None = None,
) -> Path:
    """A photo of `width`x`height` stored pixels (a viewer shows it turned when the EXIF
    orientation is 5-8). `grey` gives an RGB picture whose channels are equal, as a
    scanned black-and-white photo is; `text` is drawn on it and makes the file distinct."""
    fmt = fmt.upper()
    params = {"v": VERSION, "w": width, "h": height, "fmt": fmt, "grey": grey, "o": exif_orientation, "t": text}

    def build(path: Path) -> None:
        image = _picture(width, height, grey=grey, text=text)
        options: dict[str, object] = {}
        if exif_orientation is not None:
            exif = Image.Exif()
            exif[0x0112] = exif_orientation
            options["exif"] = exif.tobytes()
        if fmt in ("HEIF", "HEIC"):
            import pillow_heif

            pillow_heif.register_heif_opener()
            image.save(path, format="HEIF", **options)
        else:
            image.save(path, format=fmt, **options)

    return cached_file("photo", params, PHOTO_SUFFIXES.get(fmt, f".{fmt.lower()}"), build)


def _picture(width: int, height: int, *, grey: bool, text: str | None) -> Image.Image:
    """An ID-photo-like picture: a blue backdrop, a skin-toned face, a dark jacket."""
    seed = hashlib.sha256((text or "").encode()).digest()
    backdrop = (60 + seed[0] % 60, 110 + seed[1] % 60, 200 + seed[2] % 50)
    image = Image.new("RGB", (width, height), backdrop)
    draw = ImageDraw.Draw(image)
    draw.ellipse((width * 0.3, height * 0.15, width * 0.7, height * 0.6), fill=(226, 180, 150))
    draw.rectangle((width * 0.15, height * 0.65, width * 0.85, height), fill=(40, 40, 60))
    if text:
        size = max(10, min(width, height) // 12)
        draw.text((size // 2, size // 2), text, fill=(250, 250, 250), font=ImageFont.load_default(size=size))
    return image.convert("L").convert("RGB") if grey else image


def make_video(
    seconds: float,
    *,
    width: int = 160,
    height: int = 90,
    fps: float = 25,
    codec: str = "libx264",
    container: str = "mp4",
    audio: bool = False,
    rotate: int = 0,
    vfr: bool = False,
    audio_only: bool = False,
    truncate_to: float | None = None,
) -> Path:
    """A video of `seconds`, grey and silent, made by the real ffmpeg.

    `rotate` writes the rotation metadata phones write (the stored picture stays
    `width`x`height`); `vfr` makes the second half of each 10 s run at half the frame rate;
    `audio_only` is a sound track with a cover picture and no video stream; `truncate_to`
    cuts the file's bytes where the packets of that second begin, as an interrupted upload
    does (the MP4 index stays at the front and still declares the full duration).
    """
    muxer, suffix, audio_options = CONTAINERS[container]
    params = {
        "v": VERSION,
        "s": seconds,
        "w": width,
        "h": height,
        "fps": fps,
        "codec": codec,
        "c": container,
        "a": audio,
        "r": rotate,
        "vfr": vfr,
        "ao": audio_only,
        "cut": truncate_to,
    }

    def build(path: Path) -> None:
        if audio_only:
            _audio_only(path, seconds, muxer, audio_options)
        else:
            _video(path, seconds, width, height, fps, codec, muxer, suffix, audio, audio_options, rotate, vfr)
        if truncate_to is not None:
            _truncate(path, truncate_to)

    return cached_file("video", params, suffix, build)


def _video(
    path: Path,
    seconds: float,
    width: int,
    height: int,
    fps: float,
    codec: str,
    muxer: str,
    suffix: str,
    audio: bool,
    audio_options: list[str],
    rotate: int,
    vfr: bool,
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        segment = Path(tmp) / f"segment{suffix}"
        length = min(seconds, SEGMENT_SECONDS)
        frames = ["-g", str(round(length * fps) + 1)]
        timing: list[str] = []
        if vfr:
            half = round(length * fps / 2)
            timing = ["-vf", f"setpts='if(lt(N,{half}),N,{half}+(N-{half})*2)/({fps})/TB'", "-fps_mode", "vfr"]
        source = ["-f", "lavfi", "-i", f"color=c=gray:s={width}x{height}:r={fps}", "-t", f"{length}"]
        encode = ["-c:v", codec, *CODEC_OPTIONS.get(codec, DEFAULT_CODEC_OPTIONS), *frames, "-pix_fmt", "yuv420p"]
        _ffmpeg(source, timing, encode, ["-an", "-f", muxer, str(segment)])
        inputs = ["-stream_loop", "-1", "-i", str(segment)]
        maps = ["-map", "0:v"]
        if audio:
            inputs += ["-f", "lavfi", "-i", "anullsrc=r=8000:cl=mono"]
            maps += ["-map", "1:a", *audio_options]
        extra = ["-metadata:s:v:0", f"rotate={rotate}"] if rotate else []
        if muxer in ("mp4", "mov", "3gp"):
            extra += ["-movflags", "+faststart"]
        _ffmpeg(inputs, ["-t", f"{seconds}"], maps, ["-c:v", "copy"], extra, ["-f", muxer, str(path)])


def _audio_only(path: Path, seconds: float, muxer: str, audio_options: list[str]) -> None:
    inputs = ["-f", "lavfi", "-i", "anullsrc=r=8000:cl=mono", "-f", "lavfi", "-i", "color=c=red:s=64x64"]
    cover = ["-map", "1:v", "-frames:v", "1", "-c:v", "mjpeg", "-disposition:v:0", "attached_pic"]
    _ffmpeg(inputs, ["-t", f"{seconds}", "-map", "0:a", *audio_options], cover, ["-f", muxer, str(path)])


def _truncate(path: Path, at_seconds: float) -> None:
    done = subprocess.run(
        ["ffprobe", "-v", "error", "-of", "json", "-show_entries", "packet=pts_time,pos", str(path)],
        capture_output=True,
        timeout=FFMPEG_TIMEOUT,
        check=True,
    )
    positions = [
        int(p["pos"])
        for p in json.loads(done.stdout)["packets"]
        if p.get("pos") and float(p.get("pts_time", 0)) >= at_seconds
    ]
    if not positions:
        raise ValueError(f"no packet at or after {at_seconds} s to cut at")
    with path.open("r+b") as fp:
        fp.truncate(min(positions))


def _ffmpeg(*parts: list[str]) -> None:
    args = [arg for part in parts for arg in part]
    done = subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-y", *args], capture_output=True, timeout=FFMPEG_TIMEOUT
    )
    if done.returncode != 0:
        raise RuntimeError(f"ffmpeg failed: {' '.join(args)}\n{done.stderr.decode(errors='replace')}")
