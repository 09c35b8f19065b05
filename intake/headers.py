"""A message's headers, decoded in one place.

The mail reader (`intake.mail`) decodes the envelope (sender, subject, Message-ID, date) of the
mail it walks with `envelope`; the store keys each raw message by the same envelope as it is
saved (`read_envelope`), and the reply policy reads Auto-Submitted, List-* and Reply-To
(`message_headers`). The last two read only the header block, so a 50 MB mail costs a few
kilobytes to look at.

Every header value is read through `header_value`: a malformed value (an encoded word that
decodes to CR/LF, a NUL, an unknown charset, 200 KB of junk) reads as its raw text, cleaned,
never as an exception: a mail the email library cannot make sense of is still a unit's mail.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Mapping
from email._policybase import Compat32
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.policy import EmailPolicy
from email.utils import getaddresses, parsedate_to_datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from intake.filenames import decode_words, unescape_raw

HEADER_SCAN_BYTES = 256 * 1024  # no real header block is longer; a body without a blank line stops here
# The modern policy's structured-header parser is super-linear: a 200 KB Content-Type took 24 s,
# a 200 KB From 11 s. No real value comes near this (a long thread's References is a few KB), so a
# longer one is taken raw, unparsed.
HEADER_PARSE_MAX = 16 * 1024
HEADER_LINE_READ = 1 << 20  # a header line read at most this long at a time
HEADER_BLOCK_MAX = 8 << 20  # no mail's header block is longer: what follows is not read
_FOLD = re.compile(r"\r?\n(?=[ \t])")
_LINE_BREAKS = re.compile(r"[\r\n]+")

Headers = Message | Mapping[str, str]


class _GuardedPolicy(EmailPolicy):
    """The modern policy, except that a value it cannot parse, or could only parse in minutes, is
    its raw text: the parser itself asks for Content-Type (multipart or not?), so a 200 KB one
    would hold the pipeline before any code of ours could look at it."""

    def header_fetch_parse(self, name: str, value: str) -> Any:
        if len(value) > HEADER_PARSE_MAX:
            return clean_header_text(value)
        try:
            return super().header_fetch_parse(name, value)
        except Exception:  # "address parts cannot contain CR or LF", and the like
            return clean_header_text(value)


HEADERS_PARSER = BytesParser(policy=_GuardedPolicy())


def message_headers(path: Path) -> EmailMessage:
    """The top-level headers, parsed with the modern policy (for the reply policy's checks).
    Read them with `header_value`: it never raises, and no value it gives holds CR or LF."""
    head = bytearray()
    with path.open("rb") as fh:  # the header block only: `parse(fh, headersonly=True)` reads the whole
        while line := fh.readline(HEADER_LINE_READ):  # file and keeps the body as the payload (1.2 GB
            head += line  # of RSS for a 400 MB mail)
            if line in (b"\r\n", b"\n") or len(head) > HEADER_BLOCK_MAX:
                break
    return HEADERS_PARSER.parsebytes(bytes(head), headersonly=True)  # type: ignore[return-value]


def clean_header_text(value: str) -> str:
    """A header value with no way to end a header line: folding undone (RFC 5322 unfolding), NULs
    removed, any other CR or LF (a decoded "=?utf-8?b?DQo=?=", a bare CR) made a space. What comes
    out can go on one header line of our own mail without starting another header."""
    return _LINE_BREAKS.sub(" ", _FOLD.sub("", value).replace("\x00", "")).strip()


_PLAIN_ADDRESS = re.compile(r"[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+")
_ANGLE_ADDRESS = re.compile(r"<\s*([^<>\s@]+@[^<>\s@]+)\s*>")


def mailbox(value: str | None) -> tuple[str, str]:
    """(display name, address) of the first mailbox of a From-like value, ("", "") if none.

    The standard library's parser gives up on a display name holding an "@" or broken encoded
    words ("=?utf-8?b?@@@?= <a@b.cn>" parses as four empty or bogus entries): its first entry
    that is a plausible address is taken, else the value's last <address>."""
    if not value:
        return "", ""
    try:
        pairs = getaddresses([value])
    except Exception:  # a value no parser version can read still may hold an <address>
        pairs = []
    for name, address in pairs:
        if _PLAIN_ADDRESS.fullmatch(address.strip()):
            return name, address.strip()
    found = _ANGLE_ADDRESS.findall(value)
    return ("", found[-1]) if found else ("", "")


def _raw_value(headers: Message, name: str) -> str | None:
    """The header's first value exactly as it was stored by the parser (no decoding, no parsing)."""
    for key, value in headers.raw_items():
        if str(key).lower() == name:
            return str(value)
    return None


def header_value(headers: Headers | None, name: str) -> str | None:
    """The header `name` as one clean line of text, or None when it is absent; never raises.

    Decoded as the parser's policy decodes it when it can be; when the email library raises on it
    (the modern policy's address parser refuses a display name holding CR/LF, for one) or it is
    too long to parse in reasonable time, its raw text instead. Either way CR, LF and NUL are gone
    (`clean_header_text`): a value read here cannot inject a header into the desk's reply."""
    name = name.lower()
    try:
        if headers is None:
            return None
        if not isinstance(headers, Message):
            found = next((v for k, v in headers.items() if str(k).lower() == name), None)
            return None if found is None else clean_header_text(str(found))
        raw = _raw_value(headers, name)
        if raw is None:
            return None
        if len(raw) > HEADER_PARSE_MAX:
            return clean_header_text(raw)
        try:
            value = headers.get(name)
            text = raw if value is None else str(value)
        except Exception:  # whatever the library makes of a malformed value: its raw text will do
            text = raw
        return clean_header_text(unescape_raw(text))  # raw 8-bit bytes (surrogate-escaped): UTF-8 or GBK
    except Exception:  # a header block no code path can read is an absent header, not a lost mail
        return None


class Envelope(BaseModel):
    """Who sent a message, when, under which subject and Message-ID, decoded as a clerk reads it."""

    message_id: str | None = None  # folding whitespace removed: a folded ID is still the same ID
    sender: str | None = None  # the address, lower-cased
    sender_name: str | None = None  # the display name
    from_text: str | None = None  # the From header decoded whole, for a From that holds no address
    subject: str | None = None
    date: dt.datetime | None = None  # the Date header, else the newest Received line's date


class _RawPolicy(Compat32):  # type: ignore[misc]
    """Header values exactly as sent: raw 8-bit bytes stay surrogate-escaped for our own decoding."""

    def header_fetch_parse(self, name: str, value: str) -> str:
        return value


RAW_PARSER = BytesParser(policy=_RawPolicy())


def _decoded(value: str) -> str:
    """An encoded word decoded, and cleaned again: "=?utf-8?b?DQo=?=" decodes to a line break."""
    return clean_header_text(decode_words(value))


def envelope(headers: Message, tz: ZoneInfo | dt.tzinfo = dt.UTC) -> Envelope:
    """The envelope of headers parsed with `RAW_PARSER` (raw 8-bit bytes decoded as UTF-8 or GB18030)."""
    out = Envelope()
    subject = header_value(headers, "subject")
    out.subject = _decoded(subject) if subject is not None else None
    message_id = header_value(headers, "message-id")
    out.message_id = re.sub(r"\s+", "", unescape_raw(message_id)) or None if message_id else None
    raw_from = header_value(headers, "from") or header_value(headers, "sender")
    if raw_from:
        out.from_text = _decoded(raw_from) or None
        name, address = mailbox(unescape_raw(raw_from))
        out.sender = address.strip().lower() or None
        out.sender_name = _decoded(name).strip('"') or None
    out.date = _date(header_value(headers, "date"), tz)
    if out.date is None:
        for received in headers.get_all("received") or []:  # the newest is on top
            text = re.sub(r"\s+", " ", str(received))
            if ";" in text:
                out.date = _date(text.rsplit(";", 1)[1], tz)
                if out.date:
                    break
    return out


def read_envelope(path: Path, tz: ZoneInfo | dt.tzinfo = dt.UTC) -> Envelope:
    """The envelope of a stored message, from its header block alone (never the body)."""
    head = bytearray()
    with open(path, "rb") as fh:
        for line in fh:
            if not head and line.startswith(b"From "):  # an mbox envelope line
                continue
            head += line
            if line in (b"\r\n", b"\n") or len(head) > HEADER_SCAN_BYTES:
                break
    try:
        return envelope(RAW_PARSER.parsebytes(bytes(head), headersonly=True), tz)
    except Exception:  # a message we cannot parse is still stored; intake reports it
        return Envelope()


def _date(value: str | None, tz: ZoneInfo | dt.tzinfo) -> dt.datetime | None:
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    if parsed.tzinfo is None:  # "-0000" is UTC by RFC 5322; no zone at all: the sender's local time
        parsed = parsed.replace(tzinfo=dt.UTC if "-0000" in value else tz)
    return parsed


def body_digest(path: Path) -> str | None:
    """SHA-256 of what follows a message's header block: equal for copies that differ in headers only."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        tail = b""
        while True:
            block = fh.read(1 << 16)
            if not block:
                return None  # no header/body separator: nothing to compare
            data = tail + block
            ends = [i for i in (data.find(b"\r\n\r\n"), data.find(b"\n\n")) if i >= 0]
            if ends:
                end = min(ends)
                digest.update(data[end:].lstrip(b"\r\n"))
                break
            tail = data[-3:]
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()
