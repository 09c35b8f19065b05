"""A header the email library chokes on is read as absent or raw, never a quarantine (issue 13, item 6).

Each header a mail's path reads (the envelope, the reply policy, the reply's recipient and thread)
gets each kind of malformed value: an encoded word that decodes to CR/LF plus a header, a NUL,
broken encoded words, an unknown charset, 200 KB of it. The desk processes the mail like any
other: the registered sender gets her receipt, and nothing of the value injects a header into it.
"""

from __future__ import annotations

import base64
import email.policy
from email.parser import BytesParser
from pathlib import Path

import pytest

from config.campaign import Campaign
from config.settings import Settings
from nomdesk.desk import Desk
from notify.outbox import OutboxWorker
from storage.repo import Store
from storage.tables import OutboxState, RawState
from tests.support.service import mail

SENDER = "ybjyj_zcjy@163.com"  # a registered contact of 延边州
INJECTED = b"Bcc: victim@evil.example\r\nX-Injected: yes"
BOUNDARY = "----=_Part_mixed_0001"  # build_mail's top-level boundary

MALFORMED = {
    "crlf": "=?utf-8?b?" + base64.b64encode("王芳\r\n".encode() + INJECTED).decode() + "?=",
    "nul": "王\x00芳 \x00",
    "bad_words": "=?utf-8?b?@@@not-base64?= =?utf-8?q?=ZZ=?= =?gb2312?b?/////w==?= =?utf-8?x?abc?=",
    "unknown_charset": "=?x-unknown?q?hello=20world?= =?utf-8*zz?b?5Lit?=",
    "huge": "长" * 20 + "x" * 200_000,
}

# How each header carries the value (`{v}`); the From keeps the sender's address so she is answered.
CARRIERS = {
    "From": f"{{v}} <{SENDER}>",
    "Sender": "{v} <helper@163.com>",
    "Reply-To": "{v} <other@163.com>",
    "Subject": "{v}",
    "Message-ID": "{v}",
    "References": "<earlier.1@163.com> {v}",
    "In-Reply-To": "{v}",
    "Date": "{v}",
    "Content-Type": f'multipart/mixed; boundary="{BOUNDARY}"; name="{{v}}"',
    "Auto-Submitted": "{v}",
    "Return-Path": "{v}",
    "List-Id": "{v} <list.163.com>",
}
HUGE_REFERENCES = " ".join(f"<ref.{n}@163.com>" for n in range(12_000))  # about 200 KB of real-looking ids

# The headers the desk's reply may carry; anything else came from the unit's mail.
OUR_HEADERS = {
    "from",
    "to",
    "subject",
    "date",
    "message-id",
    "in-reply-to",
    "references",
    "auto-submitted",
    "x-auto-response-suppress",
    "precedence",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
}


def with_header(raw: bytes, name: str, value: str) -> bytes:
    """`raw` with header `name` (and its continuation lines) replaced by one line holding `value`
    byte for byte: UTF-8, a NUL, whatever the test put there."""
    head, _, body = raw.partition(b"\r\n\r\n")
    lines: list[bytes] = []
    dropping = False
    for line in head.split(b"\r\n"):
        if line[:1] in (b" ", b"\t"):
            if not dropping:
                lines.append(line)
            continue
        dropping = line.split(b":", 1)[0].strip().lower() == name.lower().encode()
        if not dropping:
            lines.append(line)
    lines.append(name.encode() + b": " + value.encode("utf-8"))
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def malformed_mail(header: str, kind: str) -> bytes:
    value = HUGE_REFERENCES if (header, kind) == ("References", "huge") else MALFORMED[kind]
    raw = mail(SENDER, subject="延边州推荐材料", message_id="<malformed.1@163.com>")
    return with_header(raw, header, CARRIERS[header].format(v=value))


@pytest.mark.parametrize("kind", sorted(MALFORMED))
@pytest.mark.parametrize("header", list(CARRIERS))
def test_a_malformed_header_is_read_as_raw_and_the_sender_is_answered(
    tmp_path: Path, campaign: Campaign, header: str, kind: str
) -> None:
    data = tmp_path / "var"
    path = tmp_path / "in.eml"
    path.write_bytes(malformed_mail(header, kind))
    with Store.open(data) as store:
        store.directory.sync_units(campaign)
        desk = Desk(Settings(data_dir=data), campaign, store)
        record = desk.ingest_file(path)
        desk.process_pending()
        raw = store.raw.get(record.id)
        reply = store.outbox.by_key(f"reply:{record.id}")
        if header == "Auto-Submitted":  # RFC 3834: any value but "no" is a machine's; kept, not answered
            assert raw.state == RawState.IGNORED, raw.last_error
            assert reply is None
            return
        assert raw.state == RawState.DONE, raw.last_error  # processed, never quarantined nor retried
        assert store.submissions.for_raw(record.id).unit_name == "延边朝鲜族自治州教育局"
        assert reply is not None and reply.recipients == [SENDER]
        if header == "List-Id":  # a list's mail is a submission, but not answered
            assert reply.state == OutboxState.SUPPRESSED
            return
        assert reply.state == OutboxState.PENDING
        OutboxWorker(store, smtp=None, outbox_dir=data / "outbox", clock=desk.clock).run_once()
        (sent,) = sorted((data / "outbox").glob("*.eml"))
    eml = sent.read_bytes()
    ours = BytesParser(policy=email.policy.default).parsebytes(eml)
    assert str(ours["To"]) == SENDER
    assert {name.lower() for name in ours} <= OUR_HEADERS
    head = eml.partition(b"\r\n\r\n")[0]
    assert not any(line.lower().startswith((b"bcc:", b"x-injected:")) for line in head.split(b"\r\n"))
    assert b"\x00" not in head and len(head) < 8_000  # nothing of 200 KB is copied into our reply
    if header == "Message-ID":
        assert "In-Reply-To" not in ours  # no message id in the value: no thread to join
    else:
        assert str(ours["In-Reply-To"]) == "<malformed.1@163.com>"
