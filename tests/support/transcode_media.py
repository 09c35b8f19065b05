"""What the compliant-copy tests share: a phone's HEVC .mov and a campaign whose exemplar video is short.

The shipped campaign wants 4-5 minute exemplar videos; re-encoding one in every test run would
cost minutes, so the tests load a copy of the shipped campaign file with the exemplar's (and the
project's) duration bounds set to 4-5 seconds, and make a 4.5 s source. Everything else of the
call (container, codec, size, frame rate, tolerances) is the shipped file's.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from config import Campaign, load_campaign

SHIPPED = Path(__file__).resolve().parents[2] / "config" / "campaign-2021.toml"
SOURCE_SECONDS = 4.5
SHORT_BOUNDS = (4, 5)


def short_video_campaign(folder: Path) -> Campaign:
    """The shipped campaign with the exemplar's and the project's videos 4-5 seconds long."""
    text = SHIPPED.read_text(encoding="utf-8")
    low, high = SHORT_BOUNDS

    def shorten(section: re.Match[str]) -> str:
        body = re.sub(r"(?m)^min_seconds = \d+$", f"min_seconds = {low}", section.group(0))
        return re.sub(r"(?m)^max_seconds = \d+$", f"max_seconds = {high}", body)

    text, count = re.subn(r"(?ms)^\[(exemplar|project)\.video\]\n.*?(?=^\[)", shorten, text)
    assert count == 2, "the shipped campaign's video sections moved"
    path = folder / "campaign-short-videos.toml"
    path.write_text(text, encoding="utf-8")
    return load_campaign(path)


def hevc_mov(folder: Path) -> Path:
    """A 1920x1080 30 fps HEVC QuickTime movie with sound, 4.5 s (a phone's recording); made once
    per folder."""
    path = folder / "手机视频-1080p30-hevc.mov"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / "partial.mov"
        subprocess.run(
            [
                "ffmpeg", "-nostdin", "-v", "error", "-y",
                "-f", "lavfi", "-i", f"testsrc2=size=1920x1080:rate=30:duration={SOURCE_SECONDS}",
                "-f", "lavfi", "-i", f"sine=frequency=440:duration={SOURCE_SECONDS}",
                "-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error", "-b:v", "200k",
                "-tag:v", "hvc1", "-c:a", "aac", "-shortest", str(tmp),
            ],
            check=True,
            timeout=120,
        )  # fmt: skip
        tmp.rename(path)
    return path
