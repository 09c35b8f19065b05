"""A stored message's header block, read without its body.

The desk reads headers in two places besides the full mail reader (`intake.mail`): the store
keys each raw message by Message-ID, sender and subject as it is saved, and the reply policy
looks at Auto-Submitted, List-* and Reply-To before answering. Both read only the header block
here, so a 50 MB mail costs a few kilobytes to look at.
"""

from __future__ import annotations

import email.policy
import hashlib
import re
from email.message import EmailMessage
from email.parser import BytesHeaderParser, BytesParser
from email.utils import parseaddr
from pathlib import Path
from typing import Any

from intake.filenames import decode_words

HEADER_SCAN_BYTES = 256 * 1024  # no real header block is longer; a body without a blank line stops here


def message_headers(path: Path) -> EmailMessage:
    """The top-level headers, parsed with the modern policy (for the reply policy's checks)."""
    with path.open("rb") as fh:
        return BytesParser(policy=email.policy.default).parse(fh, headersonly=True)


def header_fields(path: Path) -> dict[str, str]:
    """Message-ID, sender address and subject from a message's header block, without reading the body."""
    head = bytearray()
    with open(path, "rb") as fh:
        for line in fh:
            head += line
            if line in (b"\r\n", b"\n") or len(head) > HEADER_SCAN_BYTES:
                break
    try:
        msg = BytesHeaderParser(policy=email.policy.compat32).parsebytes(bytes(head))
    except Exception:  # a message we cannot parse is still stored; intake reports it
        return {}
    # The raw values: for raw 8-bit bytes (a GBK subject sent without encoded words) `get`
    # hands back a Header whose str() has already turned them into U+FFFD.
    raw = {}
    for name, value in msg.raw_items():
        raw.setdefault(name.lower(), value)
    fields: dict[str, str] = {}
    message_id = raw.get("message-id")
    if message_id:
        fields["message_id"] = re.sub(r"\s+", "", _decode(message_id))
    sender = raw.get("from")
    if sender:
        fields["sender"] = parseaddr(_decode(sender))[1].lower() or _decode(sender)
    subject = raw.get("subject")
    if subject:
        fields["subject"] = _decode(re.sub(r"\r?\n(?=[ \t])", "", subject))  # unfolded first (RFC 5322)
    return fields


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


def _decode(value: Any) -> str:
    """A raw header value as text: RFC 2047 encoded words, raw 8-bit bytes as UTF-8 or GB18030."""
    return decode_words(str(value)).strip()
