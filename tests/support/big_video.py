"""A big but quick video for upload tests: a few seconds of real H.264 in MP4, padded to the size
a unit's 4-minute video has with one top-level `free` box at the end (ISO 14496-12: a box every
reader skips), so it is hundreds of MB without minutes of encoding, and ffprobe still reads it.

Made once per run (tests/support/cache.py) and checked with ffprobe before it is used.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from tests.support.cache import cached_file
from tests.support.media import make_video

BIG_BYTES = 300 * 1024 * 1024
SECONDS = 6  # far under any call's minimum: the page then shows a duration finding
PIECE = 8 * 1024 * 1024  # the padding is written in pieces, never whole in memory


def big_video(size: int = BIG_BYTES, seconds: float = SECONDS) -> Path:
    """An MP4 of `seconds` of 320x180 video, exactly `size` bytes."""

    def build(path: Path) -> None:
        small = make_video(seconds, width=320, height=180)
        shutil.copyfile(small, path)
        padding = size - path.stat().st_size
        assert 8 <= padding < 2**32, f"cannot pad {path.stat().st_size} bytes to {size}"
        with path.open("ab") as out:
            out.write(padding.to_bytes(4, "big") + b"free")
            left = padding - 8
            zeros = bytes(PIECE)
            while left:
                step = min(left, PIECE)
                out.write(zeros[:step])
                left -= step

    path = cached_file("big-video", {"size": size, "s": seconds, "v": 1}, ".mp4", build)
    assert probed_seconds(path) > seconds - 1, "ffprobe no longer reads the padded video"
    return path


def probed_seconds(path: Path) -> float:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "json", str(path)],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    return float(json.loads(out)["format"]["duration"])
