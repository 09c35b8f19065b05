"""Links that units send instead of attachments (QQ 超大附件, 网盘, 奶牛快传, ...).

The desk cannot fetch them (they expire, need a browser, often an extraction code), but
the office must see every one: each becomes a LargeFileLink with the words around it
(file name, size, expiry) and its 提取码. A link is material when (RULES.md LINK_PENDING):
(a) it has the shape of a large-file download (campaign `links.large_file_patterns`),
(b) it points at a file-transfer service (`links.file_transfer_hosts`), or
(c) the words on its line offer it as material (`links.material_words`: 下载, 提取码, 视频 ...),
except signatures, articles and home pages, which (c) never makes material: a 网易邮箱大师
signature is a dashi.163.com link in every mail its users send.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

from config.campaign import LinkRules
from intake.htmltext import parse_html
from intake.models import LargeFileLink

_URL = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)
_URL_END = re.compile(r"[^\x21-\x7e]|[\"'<>()\[\]{}\\^`|]")
_TRAILING = ".,;:!?"
_CONTEXT_CHARS = 200
# What an extraction code looks like: 4-8 letters or digits (百度 4, 奶牛快传 4-6, 文叔叔 4-8).
_CODE = r"\s*(?:[:：=]|是|为)?\s*([A-Za-z0-9]{4,8})(?![A-Za-z0-9])"
_CODE_QUERY_KEYS = ("pwd", "password", "code_pwd")


class _Rules:
    """The campaign's link settings, compiled once per mail."""

    def __init__(self, rules: LinkRules) -> None:
        self.large = [re.compile(p, re.IGNORECASE) for p in rules.large_file_patterns]
        self.never = [re.compile(p, re.IGNORECASE) for p in rules.not_material_patterns]
        self.transfer = [h.lower().strip(".") for h in rules.file_transfer_hosts]
        self.material = [w.lower() for w in rules.material_words]
        self.signature = [w.lower() for w in rules.signature_words]
        words = "|".join(re.escape(w) for w in sorted(rules.code_words, key=len, reverse=True))
        self.code = re.compile(f"(?:{words}){_CODE}", re.IGNORECASE) if words else None

    def is_download(self, url: str, host: str) -> bool:
        """(a) or (b): material whatever words stand around it."""
        if any(p.match(url) for p in self.large):
            return True
        return any(host == h or host.endswith("." + h) for h in self.transfer)

    def is_offered(self, url: str, words: str) -> bool:
        """(c): another link, offered as material by the words on its line."""
        if any(p.match(url) for p in self.never):
            return False
        low = words.lower()
        if any(w in low for w in self.signature):
            return False
        parsed = urlparse(url)
        if parsed.path in ("", "/") and not parsed.query:
            return False  # a home page is no file
        return any(w in low for w in self.material)


def find_links(rules: LinkRules, plain: list[str], html: list[str], submission: int = 0) -> list[LargeFileLink]:
    """Every link offered as material in the plain and HTML bodies, once per URL."""
    compiled = _Rules(rules)
    found: dict[str, LargeFileLink] = {}
    sources: list[tuple[str, list[tuple[str, str]]]] = [(text, []) for text in plain]
    sources += [parse_html(body) for body in html]
    for text, anchors in sources:
        for match in _URL.finditer(text):
            url = _trim(match.group(0))
            start, end = match.start(), match.start() + len(url)
            _offer(compiled, found, url, text, start, end, "", submission)
        for href, anchor_text in anchors:
            if not _URL.match(href.strip()):
                continue  # mailto:, javascript:, a relative link
            url = _trim(href.strip())
            at = text.find(anchor_text) if anchor_text else -1
            start, end = (at, at + len(anchor_text)) if at >= 0 else (len(text), len(text))
            _offer(compiled, found, url, text, start, end, anchor_text, submission)
    return list(found.values())


def _offer(
    rules: _Rules,
    found: dict[str, LargeFileLink],
    url: str,
    text: str,
    start: int,
    end: int,
    anchor_text: str,
    submission: int,
) -> None:
    host = (urlparse(url).hostname or "").lower()
    if not _is_material(rules, url, host, text, start, end, anchor_text):
        return
    context = _context(text, start, end) if start < len(text) else ""
    code = _code(rules, url, text, start, end)
    context = context or anchor_text
    existing = found.get(url)
    if existing is None:
        existing = found[url] = LargeFileLink(url=url, host=host, text=context, code=code, submission=submission)
    elif len(context) > len(existing.text):
        existing.text = context
    existing.code = existing.code or code
    if existing.code and existing.code not in existing.text:
        # the office reads these words beside the link (dashboard, reply): the code it must type is one
        existing.text = f"{existing.text} 提取码：{existing.code}".strip()


def _is_material(rules: _Rules, url: str, host: str, text: str, start: int, end: int, anchor_text: str) -> bool:
    """(a), (b), or (c) by the link's own words, or by a 提取码 on the line after it."""
    if rules.is_download(url, host) or rules.is_offered(url, _own_words(text, start, end, anchor_text)):
        return True
    following = _following(text, end)
    return bool(following and rules.code and rules.code.search(following) and rules.is_offered(url, following))


def _trim(url: str) -> str:
    """A URL ends where Chinese text or punctuation written right after it begins."""
    end = _URL_END.search(url, 8)
    if end:
        url = url[: end.start()]
    return url.rstrip(_TRAILING).replace("&amp;", "&")


def _line_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    return line_start, len(text) if line_end < 0 else line_end


def _previous_line(text: str, line_start: int) -> int:
    """Where the line before the one starting at `line_start` starts (0 on the first line)."""
    return text.rfind("\n", 0, max(line_start - 1, 0)) + 1


def _without_urls(words: str) -> str:
    words = re.sub(r"https?://\S+", " ", words)
    return re.sub(r"\s+", " ", words).strip(" :：")


def _context(text: str, start: int, end: int) -> str:
    """The words on the link's line and the line before (where mail clients put name, size, expiry)."""
    line_start, line_end = _line_bounds(text, start, end)
    return _without_urls(f"{text[_previous_line(text, line_start) : start]} {text[end:line_end]}")[-_CONTEXT_CHARS:]


def _own_words(text: str, start: int, end: int, anchor_text: str) -> str:
    """The words that offer a link: its anchor and its line, or the line before when the link
    stands alone on its line ("视频下载链接：" above it). Not a wider window: the line above a
    school's web address in a footer often says "附件" about the real attachments."""
    if start >= len(text):
        return anchor_text
    line_start, line_end = _line_bounds(text, start, end)
    own = _without_urls(f"{text[line_start:start]} {text[end:line_end]}")
    if not own.strip(" ：:，,。.()（）-—>"):
        own = _without_urls(text[_previous_line(text, line_start) : line_start])
    return f"{anchor_text} {own}"


def _following(text: str, end: int) -> str:
    """The rest of the link's line and the next line, up to the next link (where 提取码 is written)."""
    if end >= len(text):
        return ""
    first = text.find("\n", end)
    second = -1 if first < 0 else text.find("\n", first + 1)
    window = text[end : len(text) if second < 0 else second]
    next_url = _URL.search(window)
    return window[: next_url.start()] if next_url else window


def _code(rules: _Rules, url: str, text: str, start: int, end: int) -> str:
    """The extraction code: in the URL (百度 ?pwd=), else written after the link, else before it."""
    query = parse_qs(urlparse(url).query)
    for key in _CODE_QUERY_KEYS:
        if query.get(key):
            return query[key][0]
    if rules.code is None or start >= len(text):
        return ""
    after = rules.code.search(_following(text, end))
    if after:
        return after.group(1)
    line_start, _ = _line_bounds(text, start, end)
    before = rules.code.search(text[line_start:start])
    return before.group(1) if before else ""
