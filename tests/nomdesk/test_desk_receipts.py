"""Receipts in the service (issue 10): every submission gets one, with a reference the unit can
quote; a file the office attaches is receipted to the unit's contacts; a receipt held back by the
rate limit covers every submission since the unit's last reply."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from config.campaign import Campaign
from config.settings import Settings
from nomdesk.desk import Desk
from notify.outbox import OutboxWorker
from storage.repo import Store
from storage.tables import OutboxState
from tests.conftest import SHARED
from tests.support.clock import Clock
from tests.support.mail import attachment, filename_rfc2047
from tests.support.media import make_photo
from tests.support.service import body_text, mail, outbox_mails

UNIT = "延边朝鲜族自治州教育局"
SENDER = "ybjyj_zcjy@163.com"  # the registered contact of 延边州
FIRST = SHARED / "samples" / "yanbian_complete" / "1.eml"  # 延边州's package, from SENDER: 金哲洙 among its stars


@pytest.fixture
def store(tmp_path: Path, campaign: Campaign):
    store = Store.open(tmp_path / "var")
    store.directory.sync_units(campaign)
    yield store
    store.close()


def _desk(tmp_path: Path, campaign: Campaign, store: Store, clock: Clock, per_hour: int) -> Desk:
    return Desk(Settings(data_dir=tmp_path / "var", reply_rate_per_hour=per_hour), campaign, store, clock=clock)


def _photo_mail(n: int, name: str) -> bytes:
    data = make_photo(800, 600, text=f"{name}{n}").read_bytes()
    part = attachment(data, filename_rfc2047(f"{name}生活照{n}.jpg"), content_type="image/jpeg")
    return mail(SENDER, subject=f"补充材料（第{n}封）", message_id=f"<m{n}@163.com>", parts=[part])


def _send(desk: Desk, tmp_path: Path, clock: Clock, n: int, raw: bytes) -> None:
    path = tmp_path / f"{n}.eml"
    path.write_bytes(raw)
    desk.ingest_file(path, received_at=clock())
    desk.process_pending()


def test_attach_sends_the_unit_a_receipt(tmp_path: Path, campaign: Campaign, store: Store, clock: Clock) -> None:
    desk = _desk(tmp_path, campaign, store, clock, per_hour=1)
    _send(desk, tmp_path, clock, 1, FIRST.read_bytes())
    [first] = store.outbox.all()
    assert "（延边-01）" in first.subject and first.evaluation_version is not None

    clock.now += dt.timedelta(minutes=10)
    photo = make_photo(800, 600, text="网盘照片").read_bytes()
    record = desk.attach(UNIT, "活动照片.jpg", photo, actor="office:wu", for_name="金哲洙")
    desk.process_pending()
    [receipt] = [o for o in store.outbox.all() if o.raw_message_id == record.id]
    # To the unit's registered contacts, by mail, as a receipt of its own with its reference.
    assert receipt.channel == "mail" and receipt.recipients == [SENDER]
    assert receipt.dedupe_key == f"reply-office:{record.id}"
    assert "（延边-02）" in receipt.subject
    assert "受理编号：延边-02" in receipt.body_text
    assert (
        "本次收到 1 个文件：" in receipt.body_text and "金哲洙_活动照片.jpg：金哲洙 照片（新增）" in receipt.body_text
    )
    assert "与上次相比：" in receipt.body_text
    # Counted against the hourly limit like any reply: the first reply took this hour's one slot.
    assert receipt.state == OutboxState.PENDING
    assert receipt.next_attempt_at == first.next_attempt_at + dt.timedelta(hours=1)


def test_replies_held_back_go_as_one_receipt_of_every_submission(
    tmp_path: Path, campaign: Campaign, store: Store, clock: Clock
) -> None:
    desk = _desk(tmp_path, campaign, store, clock, per_hour=1)
    worker = OutboxWorker(store, smtp=None, outbox_dir=tmp_path / "var" / "outbox", clock=clock)
    for n in (1, 2, 3):  # three mails within 10 minutes, one reply an hour
        _send(desk, tmp_path, clock, n, FIRST.read_bytes() if n == 1 else _photo_mail(n, "金哲洙"))
        worker.run_once()
        clock.now += dt.timedelta(minutes=5)
    rows = {r.dedupe_key: r for r in store.outbox.all()}
    assert rows["reply:1"].state == OutboxState.SENT
    assert rows["reply:2"].state == OutboxState.SUPPRESSED  # superseded while held back
    held = rows["reply:3"]
    assert held.state == OutboxState.PENDING
    # The one held receipt lists both submissions since the last reply that went, each with its files.
    assert "（延边-02、延边-03）" in held.subject
    text = held.body_text
    assert "自上次回复以来共收到 2 次报送（延边-02、延边-03）" in text
    assert text.index("受理编号：延边-02") < text.index("金哲洙生活照2.jpg") < text.index("受理编号：延边-03")
    assert "金哲洙生活照3.jpg：金哲洙 照片（新增）" in text
    assert "受理编号：延边-01" not in text and "附表2" not in text.split("以下按全部已收材料汇总")[0]

    clock.now = held.next_attempt_at
    worker.run_once()
    sent = outbox_mails(tmp_path / "var")
    assert len(sent) == 2 and "自上次回复以来共收到 2 次报送" in body_text(sent[-1])

    # The next mail's receipt covers only itself, compared with the receipt that went.
    clock.now += dt.timedelta(hours=2)
    _send(desk, tmp_path, clock, 4, _photo_mail(4, "金哲洙"))
    later = store.outbox.by_key("reply:4")
    assert later is not None and "受理编号：延边-04" in later.body_text
    assert "延边-03" not in later.body_text and "与上次相比：" in later.body_text
