"""Files whose name says media or a document but whose bytes are a short note.

Units that cannot send a piece yet sometimes send a placeholder under the piece's name:
`龙山社区大学宣传视频.mp4` holding "宣传视频正在剪辑中，成片后补报". Read as text it would vanish
into the unit's documents, and the reply would only say the video is missing. RULES.md
("Matching files to nominees") makes it FILE_UNREADABLE and has the receipt quote its first
line, so the clerk reads the unit's own words back and sees the desk understood them.
"""

from __future__ import annotations

from collections.abc import Mapping

from intake.forms.summary import decode_text
from intake.models import FileProblem, PackageFile

# A placeholder is a line or two; a longer text under a media name is left to the document
# readers as before (it may be a real summary saved with a wrong extension). A few KB holds
# a note in any encoding (UTF-16 doubles it) and no real photo, video or form is that small text.
SHORT_TEXT_BYTES = 4096
_FIRST_LINE_CHARS = 60
# Extensions under which text is what a reader expects: never mislabelled.
_TEXT_EXTENSIONS = frozenset({"txt", "text", "csv", "md", "log", "ini", "eml", "html", "htm", "xml", "json", "rtf"})


def extension(name: str) -> str:
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


def spaced(words: str) -> str:
    """A Latin word after Chinese text gets a space: "不是 Word 文档"."""
    return " " + words if words[:1].isascii() else words


def mislabelled_text(file: PackageFile, claimed: Mapping[str, str]) -> FileProblem | None:
    """FILE_UNREADABLE for short text named as one of `claimed` (extension -> "视频", "Word 文档" ...);
    None for any other file, which keeps its usual reading."""
    ext = extension(file.name)
    what = claimed.get(ext)
    if what is None or ext in _TEXT_EXTENSIONS or file.sniffed != "txt" or file.size > SHORT_TEXT_BYTES:
        return None
    first = first_line(file)
    if first is None:
        return None
    what = spaced(what)
    return FileProblem(
        code="FILE_UNREADABLE",
        path=file.path,
        reason=f"扩展名为 .{ext}，但内容是一段文字：“{first}”，不是{what}；请发送{what}本身",
        params={"type": "txt", "extension": ext, "first_line": first},
        submission=file.submission,
    )


def first_line(file: PackageFile) -> str | None:
    """The note's first non-empty line, shortened for a reply; None when the bytes are no text."""
    try:
        data = file.local.read_bytes()
    except OSError:
        return None
    text = decode_text(data)
    if text is None:
        return None
    for line in text.lstrip("\ufeff").splitlines():
        line = " ".join(line.split())
        if line:
            return line if len(line) <= _FIRST_LINE_CHARS else line[: _FIRST_LINE_CHARS - 1] + "…"
    return None
