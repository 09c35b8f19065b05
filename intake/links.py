"""Large-file links (QQ 超大附件, 163 网盘, ...) that units send instead of attachments.

The desk cannot fetch them (they expire and need a browser), but the office must see
them: each becomes a LargeFileLink with the words around it (file name, size, expiry).
"""

from __future__ import annotations

import re
from urllib.parse import urlparse

from intake.htmltext import parse_html
from intake.models import LargeFileLink

_URL_END = re.compile(r"[^\x21-\x7e]|[\"'<>()\[\]{}\\^`|]")
_TRAILING = ".,;:!?"
_CONTEXT_CHARS = 200


def find_links(patterns: list[str], plain: list[str], html: list[str], submission: int = 0) -> list[LargeFileLink]:
    """Every link matching one of `patterns` in the plain and HTML bodies, once per URL."""
    compiled = [re.compile(p) for p in patterns]
    found: dict[str, LargeFileLink] = {}
    sources: list[tuple[str, list[tuple[str, str]]]] = [(text, []) for text in plain]
    sources += [parse_html(body) for body in html]
    for text, anchors in sources:
        for url, context in _in_text(compiled, text):
            _add(found, url, context, submission)
        for href, anchor_text in anchors:
            for url, _ in _in_text(compiled, href):
                context = _around(text, anchor_text) if anchor_text else ""
                _add(found, url, context or anchor_text, submission)
    return list(found.values())


def _add(found: dict[str, LargeFileLink], url: str, context: str, submission: int) -> None:
    existing = found.get(url)
    if existing is None:
        host = (urlparse(url).hostname or "").lower()
        found[url] = LargeFileLink(url=url, host=host, text=context, submission=submission)
    elif len(context) > len(existing.text):
        existing.text = context


def _in_text(compiled: list[re.Pattern[str]], text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for pattern in compiled:
        for match in pattern.finditer(text):
            url = _trim(match.group(0))
            out.append((url, _context(text, match.start(), match.start() + len(url))))
    return out


def _trim(url: str) -> str:
    """Patterns end in \\S*, which swallows Chinese punctuation written right after a URL."""
    end = _URL_END.search(url, 8)
    if end:
        url = url[: end.start()]
    return url.rstrip(_TRAILING).replace("&amp;", "&")


def _context(text: str, start: int, end: int) -> str:
    """The words on the link's line and the line before (where mail clients put name, size, expiry)."""
    line_start = text.rfind("\n", 0, start) + 1
    previous_start = text.rfind("\n", 0, max(line_start - 1, 0)) + 1 if line_start else line_start
    line_end = text.find("\n", end)
    line_end = len(text) if line_end < 0 else line_end
    before = text[previous_start:start]
    after = text[end:line_end]
    words = re.sub(r"https?://\S+", " ", f"{before} {after}")
    words = re.sub(r"\s+", " ", words).strip(" :：")
    return words[-_CONTEXT_CHARS:]


def _around(text: str, anchor_text: str) -> str:
    at = text.find(anchor_text)
    if at < 0:
        return ""
    return _context(text, at, at + len(anchor_text)) or anchor_text
