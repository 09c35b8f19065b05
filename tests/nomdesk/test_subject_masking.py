"""A mail's subject is written by a unit and may carry a phone number ("王丽 13912345678 报送材料"):
the letters the desk writes quote it masked: the receipt that names a voided submission, and the
office's notice about a mail that broke the pipeline."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

import nomdesk.desk as desk_module
from config.masking import mask_phone
from nomdesk.desk import Desk
from notify.outbox import OutboxWorker
from storage.tables import RawState
from tests.conftest import SHARED
from tests.support.clock import Clock
from tests.support.mail import attachment, filename_rfc2047
from tests.support.media import make_photo
from tests.support.service import body_text, mail, outbox_mails, parse

UNIT = "延边朝鲜族自治州教育局"
SENDER = "ybjyj_zcjy@163.com"  # 延边州's registered contact
FIRST = SHARED / "samples" / "yanbian_complete" / "1.eml"
PHONE = "13912345678"
SUBJECT = f"王丽 {PHONE} 报送材料"


def _photo_mail(path: Path, subject: str, label: str) -> Path:
    photo = make_photo(800, 600, text=label).read_bytes()
    part = attachment(photo, filename_rfc2047(f"金哲洙生活照{label}.jpg"), content_type="image/jpeg")
    path.write_bytes(mail(SENDER, subject=subject, parts=[part], date=None))
    return path


def _send(desk: Desk, clock: Clock, path: Path, worker: OutboxWorker) -> None:
    desk.ingest_file(path, received_at=clock())
    desk.process_pending()
    worker.run_once()
    clock.now += dt.timedelta(minutes=10)


def test_the_receipt_quotes_a_voided_mails_subject_with_the_phone_masked(
    desk: Desk, clock: Clock, tmp_path: Path
) -> None:
    worker = OutboxWorker(desk.store, smtp=None, outbox_dir=tmp_path / "var" / "outbox", clock=clock)
    _send(desk, clock, FIRST, worker)
    _send(desk, clock, _photo_mail(tmp_path / "2.eml", SUBJECT, "8"), worker)
    voided = desk.store.submissions.of_unit(UNIT)[-1]
    desk.void(voided.id, actor="office:wu", reason="重复报送")
    desk.process_pending()

    _send(desk, clock, _photo_mail(tmp_path / "3.eml", "补充照片", "9"), worker)
    receipt = outbox_mails(tmp_path / "var")[-1]
    text = body_text(receipt)
    assert f"延边-02（2021-08-21 收到，主题：王丽 {mask_phone(PHONE)} 报送材料）：原因：重复报送" in text
    assert PHONE not in text and PHONE not in receipt.get_body(("html",)).get_content()


def test_the_office_notice_of_a_quarantined_mail_masks_the_phone_in_its_subject(
    desk: Desk, clock: Clock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_reader(*args: object, **kwargs: object) -> None:  # a fault put into the real pipeline
        raise ValueError("test fault: the reader breaks on this mail")

    monkeypatch.setattr(desk_module, "read_submission", broken_reader)
    record = desk.ingest_file(_photo_mail(tmp_path / "1.eml", SUBJECT, "7"), received_at=clock())
    while (row := desk.store.raw.get(record.id)).state != RawState.QUARANTINED:
        clock.now = max(clock.now, row.retry_at or clock.now)
        desk.process_pending()
    out = tmp_path / "var" / "outbox"
    OutboxWorker(desk.store, smtp=None, outbox_dir=out, clock=clock).run_once()
    [notice] = [m for m in (parse(p.read_bytes()) for p in out.glob("*.eml")) if "待人工处理" in str(m["Subject"])]
    text = body_text(notice)
    assert f"主题：王丽 {mask_phone(PHONE)} 报送材料" in text and PHONE not in text
