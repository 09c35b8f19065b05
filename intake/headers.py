"""A message's headers, decoded in one place.

The mail reader (`intake.mail`) decodes the envelope (sender, subject, Message-ID, date) of the
mail it walks with `envelope`; the store keys each raw message by the same envelope as it is
saved (`read_envelope`), and the reply policy reads Auto-Submitted, List-* and Reply-To
(`message_headers`). The last two read only the header block, so a 50 MB mail costs a few
kilobytes to look at.
"""

from __future__ import annotations

import datetime as dt
import email.policy
import hashlib
import re
from email._policybase import Compat32
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from intake.filenames import decode_words, unescape_raw

HEADER_SCAN_BYTES = 256 * 1024  # no real header block is longer; a body without a blank line stops here


def message_headers(path: Path) -> EmailMessage:
    """The top-level headers, parsed with the modern policy (for the reply policy's checks)."""
    with path.open("rb") as fh:
        return BytesParser(policy=email.policy.default).parse(fh, headersonly=True)


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


def _header(headers: Message, name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        return None
    return re.sub(r"\r?\n(?=[ \t])", "", str(value)).strip()  # unfolded as RFC 5322 says: the break goes


def envelope(headers: Message, tz: ZoneInfo | dt.tzinfo = dt.UTC) -> Envelope:
    """The envelope of headers parsed with `RAW_PARSER` (raw 8-bit bytes decoded as UTF-8 or GB18030)."""
    out = Envelope()
    subject = _header(headers, "subject")
    out.subject = decode_words(subject).strip() if subject is not None else None
    message_id = _header(headers, "message-id")
    out.message_id = re.sub(r"\s+", "", unescape_raw(message_id)) or None if message_id else None
    raw_from = _header(headers, "from") or _header(headers, "sender")
    if raw_from:
        out.from_text = decode_words(raw_from).strip() or None
        addresses = getaddresses([unescape_raw(raw_from)])
        if addresses:
            name, address = addresses[0]
            out.sender = address.strip().lower() or None
            out.sender_name = decode_words(name).strip().strip('"') or None
    out.date = _date(_header(headers, "date"), tz)
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
