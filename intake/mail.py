"""Reading an .eml without loading it: headers parsed, parts stream-decoded to files.

A 300 MB message is normal here (videos), and whole-message parsers need 5-8x its
size in memory (notes/email.md). So the raw file is scanned in 1 MiB blocks for the
MIME boundaries; each part's headers go through the standard library's parser and its
body is decoded block by block straight into a file. Only text bodies are kept in
memory, and only up to a bound.
"""

from __future__ import annotations

import binascii
import datetime as dt
import mimetypes
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from typing import BinaryIO
from zoneinfo import ZoneInfo

from intake.blockwriter import BackgroundWriter
from intake.filenames import attachment_basename, codec_for, decode_param, unescape_raw
from intake.headers import RAW_PARSER, Envelope, envelope
from intake.htmltext import html_to_text
from intake.sniff import MAIL_HEADERS

BLOCK = 1 << 20
MAX_HEADER_BYTES = 1 << 20
MAX_BODY_BYTES = 2 << 20  # decoded bytes kept per text part; longer bodies are cut
MAX_BODY_CHARS = 100_000
MAX_LINE = 1024  # longer lines are never delimiters
MAX_DEPTH = 40  # nested multiparts/messages; deeper parts are kept as opaque files

_AFTER_PADDING = re.compile(rb"(?<==)(?=[^=])")
_NOT_BASE64 = bytes(b for b in range(256) if not re.match(rb"[A-Za-z0-9+/=]", bytes([b])))


@dataclass
class MailAttachment:
    name: str
    content_type: str
    local: Path
    size: int


@dataclass
class MailContent:
    sender: str | None = None
    sender_name: str | None = None
    subject: str | None = None
    message_id: str | None = None
    arrived_at: dt.datetime | None = None
    plain: list[str] = field(default_factory=list)  # text/plain bodies
    html: list[str] = field(default_factory=list)  # text/html bodies, as HTML
    attachments: list[MailAttachment] = field(default_factory=list)

    @property
    def body_text(self) -> str:
        text = "\n\n".join(t.strip() for t in self.plain if t.strip())
        if not text:
            text = "\n\n".join(html_to_text(h) for h in self.html)
        return text[:MAX_BODY_CHARS]


class MailUnreadable(Exception):
    pass


def read_mail(path: Path, dest: Path, tz: ZoneInfo) -> MailContent:
    """Headers, bodies and attachments (written under `dest`) of the message in `path`."""
    dest.mkdir(parents=True, exist_ok=True)
    content = MailContent()
    try:
        with path.open("rb") as fh:
            walker = _Walker(fh, dest, content, counter=[0])
            headers = walker.top_headers()
            _fill_envelope(content, envelope(headers, tz))
            walker.walk(headers, [], depth=0)
    except OSError as exc:
        raise MailUnreadable("读取文件时出错") from exc
    if not content.attachments and not any(str(k).lower() in MAIL_HEADERS for k in headers):
        # random bytes called .eml parse as a "headerless mail" whose body is the bytes:
        # with no header a mail has and nothing attached, nothing of it is a mail
        raise MailUnreadable("没有可识别的邮件头，也没有附件")
    return content


@dataclass
class _Hit:
    boundary: bytes
    closing: bool


class _Walker:
    def __init__(self, fh: BinaryIO, dest: Path, content: MailContent, counter: list[int]) -> None:
        self.fh = fh
        self.buf = b""
        self.pos = 0
        self.eof = False
        self.dest = dest
        self.content = content
        self.counter = counter  # shared with nested walkers so local names never clash

    # -- buffer ------------------------------------------------------------
    def _fill(self) -> bool:
        if self.eof:
            return False
        data = self.fh.read(BLOCK)
        if not data:
            self.eof = True
            return False
        self.buf = self.buf[self.pos :] + data
        self.pos = 0
        return True

    def top_headers(self) -> Message:
        self._fill()
        if self.buf.startswith(b"From "):  # mbox envelope line
            end = self.buf.find(b"\n")
            self.pos = end + 1 if end >= 0 else len(self.buf)
        return self._headers()

    def _headers(self) -> Message:
        """The header block at the current position, up to and including its blank line."""
        start_pos = self.pos
        while True:
            buf = self.buf
            if buf.startswith((b"\r\n", b"\n"), self.pos):  # no headers at all
                self.pos += 2 if buf.startswith(b"\r\n", self.pos) else 1
                return RAW_PARSER.parsebytes(b"", headersonly=True)
            match = re.compile(rb"\r?\n\r?\n").search(buf, self.pos)
            if match:
                raw = buf[self.pos : match.end()]
                self.pos = match.end()
                return RAW_PARSER.parsebytes(raw, headersonly=True)
            if len(buf) - start_pos > MAX_HEADER_BYTES or not self._fill():
                raw = self.buf[self.pos :]
                self.pos = len(self.buf)
                return RAW_PARSER.parsebytes(raw, headersonly=True)
            start_pos = self.pos

    def _match(self, line: bytes, stack: list[bytes]) -> _Hit | None:
        line = line.rstrip(b" \t\r")
        if not line.startswith(b"--"):
            return None
        rest = line[2:]
        for boundary in reversed(stack):
            if rest == boundary:
                return _Hit(boundary, False)
            if rest == boundary + b"--":
                return _Hit(boundary, True)
        return None

    def scan(self, stack: list[bytes], sink: Callable[[bytes], None] | None) -> _Hit | None:
        """Feed the body at the current position to `sink` until a delimiter of `stack` (or EOF).

        The line break before a delimiter belongs to the delimiter (RFC 2046), so it is not fed.
        """
        if not stack:
            while True:
                if sink and self.pos < len(self.buf):
                    sink(self.buf[self.pos :])
                self.pos = len(self.buf)
                if not self._fill():
                    return None
        if not self.buf[self.pos :] and not self._fill():
            return None
        # a delimiter right at the start of the body (an empty part)
        while True:
            end = self.buf.find(b"\n", self.pos)
            if end >= 0 or len(self.buf) - self.pos > MAX_LINE or not self._fill():
                break
        end = self.buf.find(b"\n", self.pos)
        first = self.buf[self.pos : end if end >= 0 else len(self.buf)]
        hit = self._match(first, stack)
        if hit:
            self.pos = end + 1 if end >= 0 else len(self.buf)
            return hit
        search_from = self.pos
        while True:
            buf = self.buf
            i = _find_delimiter(buf, search_from)
            if i < 0:
                keep = max(len(buf) - 3, self.pos)  # "\r\n-" may be cut by the block's end
                if sink and keep > self.pos:
                    sink(buf[self.pos : keep])
                self.pos = keep
                if not self._fill():
                    if sink and self.pos < len(self.buf):
                        sink(self.buf[self.pos :])
                    self.pos = len(self.buf)
                    return None
                search_from = self.pos
                continue
            j = buf.find(b"\n", i + 1, i + 1 + MAX_LINE)
            if j < 0 and len(buf) - i < MAX_LINE and not self.eof:
                start = max(i - 1, self.pos)
                if sink and start > self.pos:
                    sink(buf[self.pos : start])
                self.pos = start
                if self._fill():
                    search_from = self.pos
                    continue
                buf = self.buf
                i = buf.find(b"\n--", self.pos)
                j = -1
            line = buf[i + 1 : j if j >= 0 else min(len(buf), i + 1 + MAX_LINE)]
            hit = self._match(line, stack)
            if hit:
                body_end = i - 1 if i > self.pos and buf[i - 1 : i] == b"\r" else i
                if sink and body_end > self.pos:
                    sink(buf[self.pos : body_end])
                self.pos = j + 1 if j >= 0 else len(buf)
                return hit
            search_from = i + 1

    # -- structure -----------------------------------------------------------
    def walk(self, headers: Message, stack: list[bytes], depth: int) -> _Hit | None:
        ctype = headers.get_content_type()
        cte = str(headers.get("content-transfer-encoding", "")).strip().lower()
        boundary = headers.get_param("boundary")
        if ctype.startswith("multipart/") and isinstance(boundary, str) and boundary and depth < MAX_DEPTH:
            own = unescape_raw(boundary).encode("utf-8", "surrogateescape")
            inner = [*stack, own]
            hit = self.scan(inner, None)  # the preamble
            while hit and hit.boundary == own and not hit.closing:
                hit = self.walk(self._headers(), inner, depth + 1)
            if hit and hit.boundary == own:  # closed: skip the epilogue up to the parent's delimiter
                return self.scan(stack, None)
            return hit
        if ctype == "message/rfc822" and cte in ("", "7bit", "8bit", "binary") and depth < MAX_DEPTH:
            return self.walk(self._headers(), stack, depth + 1)
        return self._leaf(headers, ctype, cte, stack, depth)

    def _leaf(self, headers: Message, ctype: str, cte: str, stack: list[bytes], depth: int) -> _Hit | None:
        filename = _filename(headers)
        disposition = (headers.get_content_disposition() or "").lower()
        if ctype in ("text/plain", "text/html") and not filename and disposition != "attachment":
            collected = _Bounded(MAX_BODY_BYTES)
            decoder = _decoder(cte, collected.write)
            hit = self.scan(stack, decoder.feed)
            decoder.close()
            charset = headers.get_content_charset() or None
            text = _decode_text(collected.data(), charset).replace("\r\n", "\n")
            (self.content.plain if ctype == "text/plain" else self.content.html).append(text)
            return hit
        self.counter[0] += 1
        n = self.counter[0]
        local = self.dest / f"{n:05d}"
        with local.open("wb") as out, BackgroundWriter(out) as writer:
            decoder = _decoder(cte, writer.write)
            hit = self.scan(stack, decoder.feed)
            decoder.close()
        if ctype == "message/rfc822" and depth < MAX_DEPTH:  # an encoded forwarded message: read it too
            with local.open("rb") as inner_fh:
                inner = _Walker(inner_fh, self.dest, self.content, self.counter)
                inner.walk(inner._headers(), [], depth + 1)
            local.unlink()
            return hit
        name = filename or _name_for(ctype, n)
        self.content.attachments.append(MailAttachment(name, ctype, local, local.stat().st_size))
        return hit


class _Bounded:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.parts: list[bytes] = []
        self.size = 0

    def write(self, data: bytes) -> None:
        if self.size < self.limit:
            data = data[: self.limit - self.size]
            self.parts.append(data)
            self.size += len(data)

    def data(self) -> bytes:
        return b"".join(self.parts)


class _Decoder:
    def __init__(self, out: Callable[[bytes], object]) -> None:
        self.out = out

    def feed(self, data: bytes) -> None:
        self.out(data)

    def close(self) -> None:
        pass


class _Base64(_Decoder):
    def __init__(self, out: Callable[[bytes], object]) -> None:
        super().__init__(out)
        self.rest = b""

    def feed(self, data: bytes) -> None:
        data = self.rest + data if self.rest else data
        # Fast path: whole lines up to the block's last line break, handed to a2b_base64 as they
        # are (it skips the CRLFs itself), saving a copy of every block. It only applies when those
        # lines hold whole 4-character groups (76-character lines do; a2b_base64 refuses
        # anything else) and no padding, whose meaning mid-stream the slow path settles.
        cut = data.rfind(b"\n") + 1
        if cut and data.find(b"=", 0, cut) < 0:
            try:
                decoded = binascii.a2b_base64(memoryview(data)[:cut])
            except binascii.Error:
                pass
            else:
                self.out(decoded)
                self.rest = data[cut:]
                return
        data = data.translate(None, _NOT_BASE64)
        usable = len(data) - len(data) % 4
        if usable:
            self.out(_b64(data[:usable]))
        self.rest = data[usable:]

    def close(self) -> None:
        rest = self.rest.translate(None, _NOT_BASE64)
        if rest.strip(b"="):
            self.out(_b64(rest + b"=" * (-len(rest) % 4)))
        self.rest = b""


def _find_delimiter(buf: bytes, start: int) -> int:
    """Where the next b"\\n--" at or after `start` begins, or -1: `buf.find(b"\\n--", start)`.

    Looks for the dash alone (a single-byte search is memchr, several times faster): base64,
    the bulk of every big mail, has no dash, while a newline comes every 76 bytes."""
    pos = start + 1
    while True:
        k = buf.find(b"-", pos)
        if k < 0:
            return -1
        if buf[k - 1] == 0x0A and buf[k + 1 : k + 2] == b"-":
            return k - 1
        pos = k + 1


def _b64(data: bytes) -> bytes:
    """Decode clean base64; padding mid-stream (pieces encoded apart and glued) ends a piece, not the data."""
    if data.rstrip(b"=").find(b"=") >= 0:
        return b"".join(_b64_piece(piece) for piece in _AFTER_PADDING.split(data))
    return _b64_piece(data)


def _b64_piece(data: bytes) -> bytes:
    try:
        return binascii.a2b_base64(data)
    except binascii.Error:  # damaged padding: decode what can be decoded
        usable = data.rstrip(b"=")
        usable = usable[: len(usable) - len(usable) % 4]
        try:
            return binascii.a2b_base64(usable)
        except binascii.Error:
            return b""


class _QuotedPrintable(_Decoder):
    def __init__(self, out: Callable[[bytes], object]) -> None:
        super().__init__(out)
        self.rest = b""

    def feed(self, data: bytes) -> None:
        data = self.rest + data
        cut = data.rfind(b"\n") + 1
        if cut:
            self.out(binascii.a2b_qp(data[:cut]))
        self.rest = data[cut:]

    def close(self) -> None:
        if self.rest:
            self.out(binascii.a2b_qp(self.rest))
        self.rest = b""


def _decoder(cte: str, out: Callable[[bytes], object]) -> _Decoder:
    if cte == "base64":
        return _Base64(out)
    if cte == "quoted-printable":
        return _QuotedPrintable(out)
    return _Decoder(out)


def _decode_text(raw: bytes, charset: str | None) -> str:
    codec = codec_for(charset) if charset else None
    for candidate in (codec, "utf-8", "gb18030"):
        if candidate is None:
            continue
        try:
            return raw.decode(candidate)
        except (UnicodeDecodeError, LookupError):
            continue
    return raw.decode(codec or "gb18030", "replace")


def _filename(headers: Message) -> str | None:
    for param, header in (("filename", "content-disposition"), ("name", "content-type")):
        try:
            value = decode_param(headers.get_param(param, header=header))
        except Exception:  # a malformed parameter must not lose the part
            value = None
        if value:
            base = attachment_basename(value)
            if base:
                return base
    return None


def _name_for(ctype: str, n: int) -> str:
    """A name for an attachment that has none: 附件N plus the content type's usual extension."""
    special = {"application/ms-tnef": ".dat", "application/vnd.ms-tnef": ".dat", "message/rfc822": ".eml"}
    ext = special.get(ctype) or mimetypes.guess_extension(ctype) or ""
    if ext in (".bin", ".a", ".obj", ".exe", ".ksh"):
        ext = ""
    return f"附件{n}{ext}"


def _fill_envelope(content: MailContent, env: Envelope) -> None:
    content.subject, content.message_id = env.subject, env.message_id
    content.sender, content.sender_name, content.arrived_at = env.sender, env.sender_name, env.date
