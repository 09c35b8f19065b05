"""`nomdesk serve` out of the box: only --data-dir, mail in the drop folder, replies in the outbox folder."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from storage.tables import OutboxState, RawState
from tests.conftest import SHARED
from tests.support.service import (
    ROOT,
    ServeProcess,
    body_text,
    deliver,
    mail,
    message_id_of,
    outbox_mails,
    replies_to,
    sha256,
    store_of,
    wait_until,
)

SAMPLE = SHARED / "samples" / "changbaishan_missing" / "1.eml"
FAULTS = ROOT / "tests" / "support" / "faults"
CHANGBAISHAN = "长白山管委会教育科技局"

pytestmark = pytest.mark.slow


def test_out_of_the_box_drop_folder_to_outbox_folder(tmp_path: Path) -> None:
    data = tmp_path / "var"
    raw = SAMPLE.read_bytes()
    with ServeProcess(data) as serve:
        health = httpx.get(serve.url + "/healthz", timeout=5)
        assert health.status_code == 200 and health.json()["ok"] is True

        deliver(data, raw)
        reply = wait_until(lambda: replies_to(outbox_mails(data), message_id_of(raw)), 60, what="a reply .eml")[0]
        log = serve.stderr()

    # The operator's log says what the desk did, not the libraries' routine (the scheduler ran at start).
    assert "raw message 1 stored" in log and "Running job" not in log and "apscheduler" not in log
    assert reply["To"] == "2295831465@qq.com"
    assert reply["Auto-Submitted"] == "auto-replied"
    text = body_text(reply)
    assert CHANGBAISHAN in text and "宋丽萍" in text and "2分30秒" in text
    # The raw mail is kept byte for byte in the content-addressed store, and the drop folder is emptied.
    digest = sha256(raw)
    kept = data / "store" / digest[:2] / digest[2:4] / digest
    assert kept.read_bytes() == raw
    assert not list((data / "inbox" / "new").iterdir())
    with store_of(data) as store:
        (row,) = store.raw.all()
        assert row.sha256 == digest and row.state == RawState.DONE
        assert [o.state for o in store.outbox.all() if o.raw_message_id == row.id] == [OutboxState.SENT]


def test_a_mail_that_breaks_the_pipeline_is_quarantined_and_the_next_is_answered(tmp_path: Path) -> None:
    data = tmp_path / "var"
    # The reader breaks on this one mail (tests/support/faults: a fault put into the real process).
    breaking = b"X-Test-Break: yes\r\n" + mail("ybjyj_zcjy@163.com", subject="延边州推荐材料")
    good = mail("ybjyj_zcjy@163.com", subject="延边州补充材料")
    faults = f"{FAULTS}{os.pathsep}{ROOT}"
    # A deterministic failure is tried three times (nomdesk/failures.py): backoff short for the test.
    env = {"PYTHONPATH": faults, "NOMDESK_RETRY_BACKOFF_SECONDS": "0.2"}
    with ServeProcess(data, env=env) as serve, store_of(data) as store:
        deliver(data, breaking)
        bad = wait_until(lambda: store.raw.all(RawState.QUARANTINED), 30, what="the quarantine")[0]
        assert bad.sha256 == sha256(breaking) and "test fault" in (bad.last_error or "")  # kept with its error
        assert (data / "store" / bad.store_path).read_bytes() == breaking

        deliver(data, good)
        (reply,) = wait_until(lambda: replies_to(outbox_mails(data), message_id_of(good)), 30, what="the next reply")
        assert serve.healthy()
        assert "延边朝鲜族自治州教育局" in body_text(reply)
        # The office is told a person must look; the sender only that a person will.
        (notice,) = wait_until(
            lambda: [m for m in outbox_mails(data) if "待人工处理" in str(m["Subject"])], 30, what="the office notice"
        )
        assert notice["To"] == "jlqmxx@126.com" and f"nomdesk retry {bad.id}" in body_text(notice)
        (ack,) = replies_to(outbox_mails(data), message_id_of(breaking))
        assert "人工处理" in body_text(ack) and "延边朝鲜族自治州教育局" not in body_text(ack)
        assert len(outbox_mails(data)) == 3
        assert [a.detail["raw_id"] for a in store.audit.entries(action="raw.quarantined")] == [bad.id]
