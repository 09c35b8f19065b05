"""Compose the desk's reply mails: threaded, marked as automatic, Chinese-safe on any relay."""

from __future__ import annotations

import datetime as dt
import os
import re
import tempfile
from collections.abc import Sequence
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, localtime, make_msgid
from pathlib import Path

from intake.headers import clean_header_text

_REPLY_PREFIX = re.compile(r"^\s*((re|回复|答复|aw|sv)\s*[:：]\s*)+", re.IGNORECASE)
# A message id as RFC 5322 writes it (no space, no control character inside the brackets): what
# a unit's mail says is one goes into our In-Reply-To/References only if it looks like one.
_MESSAGE_ID = re.compile(r"<[^<>\s\x00-\x1f\x7f]{1,250}@[^<>\s\x00-\x1f\x7f]{1,250}>")
MAX_REFERENCES = 20  # the thread's newest ids (RFC 5322 allows trimming; a 200 KB list is junk)


def _message_ids(values: Sequence[str]) -> list[str]:
    """The well-formed message ids among `values` (as a unit's mail gave them), in order, once each."""
    ids: list[str] = []
    for value in values:
        for found in _MESSAGE_ID.findall(value or ""):
            if found not in ids:
                ids.append(found)
    return ids


def reply_subject(subject: str) -> str:
    """'Re: ' exactly once, whatever prefixes (Re:, 回复：, AW:) the subject already has."""
    return "Re: " + _REPLY_PREFIX.sub("", subject or "").strip()


def desk_message_id_domain(mail_from: str) -> str:
    """The domain of the desk's own Message-IDs: under the office's domain but used by no one
    else, so a mail looping back is known as ours while the provider's other users are not."""
    return "nomdesk." + mail_from.rsplit("@", 1)[-1].strip("<> ").lower()


def build_reply(
    *,
    from_addr: str,
    to: list[str],
    subject: str,
    text: str,
    html: str | None,
    in_reply_to: str | None,
    references: Sequence[str],
    attachments: Sequence[tuple[str, bytes, str]] = (),
    message_id_domain: str,
    date: dt.datetime | None = None,
) -> EmailMessage:
    """An automatic reply (RFC 3834): attachments are (filename, data, "maintype/subtype").

    `in_reply_to` and `references` come from the unit's mail: only well-formed message ids of
    them are copied, so nothing in them (a CR/LF, 200 KB of junk) reaches our reply's headers."""
    msg = EmailMessage(policy=SMTP)
    # No header of ours may hold a line break: a value from outside cannot start another header.
    msg["From"] = clean_header_text(from_addr)
    msg["To"] = ", ".join(clean_header_text(address) for address in to)
    msg["Subject"] = clean_header_text(reply_subject(subject))
    # The desk's clock when given: a rehearsal's mails are dated on the rehearsal's day.
    msg["Date"] = format_datetime(date if date is not None else localtime())
    msg["Message-ID"] = make_msgid(domain=message_id_domain)
    parent = next(iter(_message_ids([in_reply_to or ""])), None)
    refs = _message_ids(list(references))
    if parent:
        msg["In-Reply-To"] = parent
        if parent not in refs:
            refs.append(parent)
    if refs:
        msg["References"] = " ".join(refs[-MAX_REFERENCES:])
    msg["Auto-Submitted"] = "auto-replied"
    msg["X-Auto-Response-Suppress"] = "All"
    msg["Precedence"] = "auto_reply"
    # base64: a relay without 8BITMIME must not mangle Chinese text.
    msg.set_content(text, charset="utf-8", cte="base64")
    if html is not None:
        msg.add_alternative(html, subtype="html", charset="utf-8", cte="base64")
    for filename, data, mime in attachments:
        maintype, _, subtype = mime.partition("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype or "octet-stream", filename=filename)
    return msg


def write_eml(msg: EmailMessage, directory: Path) -> Path:
    """Write the message atomically as `<message-id>.eml` (the outbox when no SMTP server is configured)."""
    directory.mkdir(parents=True, exist_ok=True)
    stem = re.sub(r"[^A-Za-z0-9._@-]", "_", str(msg.get("Message-ID", "")).strip("<> ")) or "reply"
    target = directory / f"{stem}.eml"
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(msg.as_bytes(policy=SMTP))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return target


def notice_mail(
    *,
    from_addr: str,
    to: list[str],
    subject: str,
    text: str,
    html: str | None,
    domain: str,
    attachments: list[tuple[str, bytes, str]] | None = None,
    date: dt.datetime | None = None,
) -> bytes:
    """An automatic notice (not a reply): its own subject, RFC 3834 "auto-generated"."""
    msg = build_reply(
        from_addr=from_addr,
        to=to,
        subject=subject,
        text=text,
        html=html,
        in_reply_to=None,
        references=[],
        attachments=attachments or [],
        message_id_domain=domain,
        date=date,
    )
    msg.replace_header("Subject", clean_header_text(subject))
    msg.replace_header("Auto-Submitted", "auto-generated")
    del msg["Precedence"]
    return msg.as_bytes()
