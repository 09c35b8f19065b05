"""The office's commands beside a running desk: an unknown sender, `nomdesk assign`, `nomdesk status`."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from storage.tables import RawState
from tests.conftest import SHARED
from tests.support.service import (
    ServeProcess,
    body_text,
    deliver,
    message_id_of,
    nomdesk,
    outbox_mails,
    replies_to,
    store_of,
    wait_until,
)

pytestmark = pytest.mark.slow

SAMPLE = SHARED / "samples" / "yanbian_complete" / "1.eml"
STRANGER = "zhangsan.ybjy@example.cn"
OFFICE = "jlqmxx@126.com"
YANBIAN = "延边朝鲜族自治州教育局"
NOMINEES = ("金哲洙", "朴英子", "“长鼓舞”非遗文化传承学习项目")


def from_stranger(raw: bytes) -> bytes:
    """The yanbian package sent from an address nobody registered (a new clerk's own mailbox)."""
    head, sep, body = raw.partition(b"\r\n\r\n")
    lines = [
        f"From: {STRANGER}".encode() if line.lower().startswith(b"from:") else line for line in head.split(b"\r\n")
    ]
    assert any(line == f"From: {STRANGER}".encode() for line in lines)
    lines = [
        b"Subject: [\xe8\xa1\xa5\xe5\x85\x85] " + line[9:] if line.lower().startswith(b"subject: ") else line
        for line in lines
    ]
    return b"\r\n".join(lines).replace(b"Message-ID: <", b"Message-ID: <stranger.", 1) + sep + body


def test_unknown_sender_then_assign_then_status(tmp_path: Path) -> None:
    data = tmp_path / "var"
    raw = from_stranger(SAMPLE.read_bytes())
    mid = message_id_of(raw)
    with ServeProcess(data), store_of(data) as store:
        deliver(data, raw)
        notice = wait_until(lambda: [m for m in outbox_mails(data) if m["To"] == OFFICE], 60, what="the office notice")[
            0
        ]
        (polite,) = replies_to(outbox_mails(data), mid)
        assert polite["To"] == STRANGER
        text = body_text(polite)
        assert "尚未登记" in text and "推荐单位全称" in text
        assert not any(name in text for name in NOMINEES)  # no dossier data to an unverified address
        assert store.evaluations.latest_dossier(YANBIAN) is None

        notice_text = body_text(notice)
        assert STRANGER in notice["Subject"] and YANBIAN in notice_text  # the guess from the package
        submission_id = re.search(r"nomdesk assign (\d+)", notice_text).group(1)
        # The office's list tells the waiting mails apart: sender, subject (brackets kept), the guess.
        waiting = nomdesk("status", "--data-dir", data)
        assert waiting.returncode == 0, waiting.stderr
        line = next(ln for ln in waiting.stdout.splitlines() if f"报送 #{submission_id}" in ln)
        assert STRANGER in line and "主题：[补充]" in line and f"推测：{YANBIAN}" in line

        assigned = nomdesk("assign", submission_id, "延边州", "--data-dir", data)
        assert assigned.returncode == 0, assigned.stderr
        assert YANBIAN in assigned.stdout

        def full_reply():
            return [m for m in replies_to(outbox_mails(data), mid) if "金哲洙" in body_text(m)]

        (reply,) = wait_until(full_reply, 30, what="the reply after assign")
        assert reply["To"] == STRANGER and reply["Auto-Submitted"] == "auto-replied"
        assert all(name in body_text(reply) for name in NOMINEES)
        assert [r.state for r in store.raw.all()] == [RawState.DONE]

        overview = nomdesk("status", "--data-dir", data)
        assert overview.returncode == 0, overview.stderr
        rows = [[c.strip() for c in line.split("│")[1:-1]] for line in overview.stdout.splitlines()]
        (cells,) = [r for r in rows if r and r[0] == YANBIAN]  # the full name, even when piped
        assert (cells[2], cells[4], cells[5]) == ("1", "8", "5")  # 1 mail, 8 stars, 5 projects
        one = nomdesk("status", "延边州", "--data-dir", data)
        assert one.returncode == 0, one.stderr
        assert all(name in one.stdout for name in NOMINEES)
