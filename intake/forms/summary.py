"""Work summaries (工作总结): their text and its length in characters other than whitespace."""

from __future__ import annotations

import codecs
import re
from pathlib import Path

from intake.models import Summary

HEAD_CHARS = 200
_WHITESPACE = re.compile(r"\s+")
# Encodings tried in order before asking charset-normalizer: UTF-8 is strict enough to
# reject anything else, and GB18030 (a superset of GBK/GB2312) is what Chinese Windows
# Notepad writes as "ANSI".
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def count_chars(text: str) -> int:
    """Characters other than whitespace (full-width spaces are whitespace too)."""
    return len(_WHITESPACE.sub("", text))


def make_summary(text: str, path: str, submission: int = 0) -> Summary:
    head = _WHITESPACE.sub(" ", text).strip()[:HEAD_CHARS]
    return Summary(path=path, submission=submission, chars=count_chars(text), text_head=head)


def decode_text(data: bytes) -> str | None:
    """The text of a .txt file in whatever encoding it was saved; None if it is not text."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError:
                return None
    for encoding in ("utf-8", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    return str(best) if best is not None else None


def read_txt(path: Path) -> str | None:
    return decode_text(path.read_bytes())


def read_pdf_text(path: Path) -> str:
    """The text layer of a PDF (empty for a scan). Raises on a corrupt or encrypted file."""
    from pypdf import PdfReader

    reader = PdfReader(path, strict=False)
    if reader.is_encrypted and not reader.decrypt(""):
        raise PermissionError("encrypted")
    return "\n".join((page.extract_text() or "") for page in reader.pages)
