"""What a unit contact does on her own page, through a real desk on a new store (nomdesk.unit_actions):
upload a file for a nominee, replace one file, remove one file, withdraw and restore a nominee; each
is merged like mail and answered with a receipt to the unit's registered contacts that says what it
did. A link actor is the unit, never the office: its late upload is late, and it cannot take back
what the office withdrew."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from config.campaign import Campaign
from config.settings import Settings
from intake.models import Dossier
from nomdesk.desk import Desk
from nomdesk.unit_actions import LINK_ACTOR
from storage.repo import Store
from storage.tables import FileRecord, OutboxRecord, RawMessageRecord
from tests.conftest import SHARED
from tests.support.clock import Clock
from tests.support.media import make_photo
from tests.support.service import mail
from validators.checklist import checklist_rows

SAMPLE = SHARED / "samples" / "yanbian_complete" / "1.eml"
YANBIAN = "延边朝鲜族自治州教育局"
CHANGBAI = "长白山管委会教育科技局"
SENDER = "ybjyj_zcjy@163.com"  # 延边州's registered contact
KIM, PARK = "金哲洙", "朴英子"
PAGE = LINK_ACTOR.format(contact_id=1)
AFTER_DEADLINE = dt.datetime(2021, 9, 2, 2, 0, tzinfo=dt.UTC)  # the 2021 call closed on 30 August


@pytest.fixture
def desk(tmp_path: Path, campaign: Campaign) -> Iterator[Desk]:
    data = tmp_path / "var"
    clock = Clock(dt.datetime(2021, 8, 25, 2, 0, tzinfo=dt.UTC), step=dt.timedelta(minutes=1))
    with Store.open(data) as store:
        store.directory.sync_units(campaign)
        desk = Desk(Settings(data_dir=data), campaign, store, clock=clock)
        desk.ingest_file(SAMPLE, received_at=clock())
        desk.process_pending()
        yield desk


def receipt_of(desk: Desk, record: RawMessageRecord) -> OutboxRecord:
    desk.process_pending()
    [receipt] = [o for o in desk.store.outbox.all() if o.raw_message_id == record.id]
    assert receipt.channel == "mail" and receipt.recipients == [SENDER]  # the unit's registered contacts
    return receipt


def dossier(desk: Desk) -> Dossier:
    return desk.evaluate(YANBIAN).dossier


def unit_files(desk: Desk) -> list[FileRecord]:
    """Every stored file of the unit's submissions."""
    rows = desk.store.submissions.of_unit(YANBIAN)
    return [f for row in rows for f in desk.store.submissions.files(row.id)]


def file_id(desk: Desk, name: str) -> int:
    """The stored file of the unit's dossier whose path ends with `name`."""
    removable = desk.removable_file_ids(YANBIAN)
    [found] = [f.id for f in unit_files(desk) if f.path.endswith(name) and f.id in removable]
    return found


def photo_names(d: Dossier, name: str) -> list[str]:
    return [p.name for p in next(s for s in d.stars if s.name == name).photos]


def checklist_line(desk: Desk, name: str) -> str:
    result = desk.evaluate(YANBIAN)
    return next(str(row) for row in checklist_rows(result.dossier, result.findings) if row.name == name)


def late_submissions(desk: Desk) -> set[int]:
    return {f.evidence["submission"] for f in desk.evaluate(YANBIAN).findings if f.code == "LATE"}


def test_an_upload_for_a_nominee_is_filed_and_receipted(desk: Desk) -> None:
    record = desk.unit_upload(YANBIAN, "活动照片.jpg", make_photo(800, 600, text="页面上传"), actor=PAGE, for_name=KIM)
    assert desk.await_processed(record.id, 0) is None  # queued only: the pipeline does the work
    text = receipt_of(desk, record).body_text
    assert "已收到贵单位在本单位材料页面提交的以下材料或操作" in text
    assert "本次收到 1 个文件：" in text and f"{KIM}_活动照片.jpg：{KIM} 照片（新增）" in text
    assert "材料页面上传或操作 1 次" in text  # not counted as a mail of the unit's
    assert f"{KIM}_活动照片.jpg" in photo_names(dossier(desk), KIM)
    [audit] = desk.store.audit.entries(unit_name=YANBIAN, action="unit.file_uploaded")
    assert audit.actor == PAGE


def test_a_replaced_photo_leaves_the_dossier_and_the_receipt_says_so(desk: Desk) -> None:
    old = file_id(desk, f"{KIM}生活照.jpg")
    record = desk.unit_upload(YANBIAN, "新生活照.jpg", make_photo(800, 600, text="新照片"), actor=PAGE, replaces=old)
    text = receipt_of(desk, record).body_text
    # the nominee is the replaced photo's by default
    assert f"替换：{KIM} 照片 {KIM}生活照.jpg → {KIM}_新生活照.jpg（原文件仍保存在系统中，不再计入）" in text
    assert f"{KIM}_新生活照.jpg：{KIM} 照片（替换原照片 {KIM}生活照.jpg）" in text
    assert "已删除" not in text.split("以下按全部已收材料汇总")[0]
    assert photo_names(dossier(desk), KIM) == [f"{KIM}证件照.jpg", f"{KIM}_新生活照.jpg"]
    assert old not in desk.removable_file_ids(YANBIAN)
    with pytest.raises(ValueError, match=r"已不在.*当前的材料中"):
        desk.unit_upload(YANBIAN, "又一张.jpg", make_photo(800, 600, text="又一张"), actor=PAGE, replaces=old)


def test_a_removed_file_leaves_the_checklist_and_stays_in_the_store(desk: Desk) -> None:
    before = checklist_line(desk, KIM)
    old = file_id(desk, f"{KIM}生活照.jpg")
    stored = next(f for f in unit_files(desk) if f.id == old)
    record = desk.remove_file(YANBIAN, old, actor=PAGE)
    text = receipt_of(desk, record).body_text
    assert f"已删除：{KIM} 照片 {KIM}生活照.jpg（文件仍保存在系统中）" in text
    assert "本次收到 0 个文件" not in text
    after = checklist_line(desk, KIM)
    assert "照片2张" in before and "照片1张" in after
    assert photo_names(dossier(desk), KIM) == [f"{KIM}证件照.jpg"]
    assert desk.store.submissions.file_path(stored).is_file()
    assert not late_submissions(desk)


def test_a_removed_video_leaves_the_exemplar_without_one(desk: Desk) -> None:
    record = desk.remove_file(YANBIAN, file_id(desk, f"{PARK}典型事迹宣传片.mp4"), actor=PAGE)
    assert f"已删除：{PARK} 视频 {PARK}典型事迹宣传片.mp4" in receipt_of(desk, record).body_text
    assert "视频✗（未收到）" in checklist_line(desk, PARK)  # an exemplar needs one


def test_a_file_of_another_unit_is_refused(desk: Desk) -> None:
    other = desk.attach(CHANGBAI, "活动照片.jpg", make_photo(800, 600, text="长白山"), actor="office:wu")
    desk.process_pending()
    [theirs] = desk.store.submissions.files(desk.store.submissions.for_raw(other.id).id)
    with pytest.raises(ValueError, match="不属于延边朝鲜族自治州教育局的材料"):
        desk.remove_file(YANBIAN, theirs.id, actor=PAGE)
    with pytest.raises(ValueError, match="不属于"):
        desk.unit_upload(YANBIAN, "x.jpg", make_photo(800, 600, text="x"), actor=PAGE, replaces=theirs.id)
    assert desk.store.audit.entries(unit_name=YANBIAN, action="unit.file_removed") == []


def test_a_unit_contact_withdraws_and_restores_on_her_page(desk: Desk) -> None:
    withdrawn = desk.withdraw(YANBIAN, PARK, actor=PAGE)
    text = receipt_of(desk, withdrawn.record).body_text
    assert f"已撤回：百姓学习之星 {PARK}" in text
    [gone] = dossier(desk).withdrawn
    assert gone.by == PAGE
    restored = desk.restore(YANBIAN, PARK, actor=PAGE)
    assert f"已恢复：百姓学习之星 {PARK}" in receipt_of(desk, restored.record).body_text
    assert dossier(desk).withdrawn == []
    assert not late_submissions(desk)


def test_a_unit_contact_cannot_restore_what_the_office_withdrew(desk: Desk) -> None:
    desk.withdraw(YANBIAN, PARK, actor="office:wu")
    desk.process_pending()
    with pytest.raises(ValueError, match="由省级办公室撤回的"):
        desk.restore(YANBIAN, PARK, actor=PAGE)
    with pytest.raises(ValueError, match="只能由省级办公室"):
        desk.restore(YANBIAN, PARK, actor="wecom:wufengxia")  # WeCom still cannot restore at all


def test_an_upload_after_the_deadline_is_late_by_the_unit_not_by_the_office(desk: Desk) -> None:
    desk.clock.now = AFTER_DEADLINE  # type: ignore[attr-defined]
    office = desk.unit_upload(YANBIAN, "补充.jpg", make_photo(800, 600, text="办公室"), actor="office:wu", for_name=KIM)
    desk.process_pending()
    assert late_submissions(desk) == set()
    assert "省级办公室已为贵单位登记" in receipt_of(desk, office).body_text
    unit = desk.unit_upload(YANBIAN, "补充2.jpg", make_photo(800, 600, text="单位"), actor=PAGE, for_name=KIM)
    desk.process_pending()
    result = desk.evaluate(YANBIAN)
    assert late_submissions(desk) == {result.raw_index[unit.id]}
    # Taking a file out or withdrawing delivers nothing: never late.
    desk.remove_file(YANBIAN, file_id(desk, f"{PARK}生活照.jpg"), actor=PAGE)
    desk.withdraw(YANBIAN, KIM, actor=PAGE)
    desk.process_pending()
    assert late_submissions(desk) == {result.raw_index[unit.id]}


def test_a_units_own_mail_with_the_desks_header_removes_nothing(desk: Desk, tmp_path: Path) -> None:
    from intake.models import FileRef
    from intake.removals import REMOVE_HEADER, remove_header

    target = next(f for f in unit_files(desk) if f.path.endswith(f"{KIM}生活照.jpg"))
    forged = remove_header(FileRef(path=target.path, sha256=target.sha256, source=dossier(desk).submissions[0].source))
    path = tmp_path / "forged.eml"
    path.write_bytes(mail(SENDER, subject="补充材料", extra_headers=[f"{REMOVE_HEADER}: {forged}".encode()], date=None))
    desk.ingest_file(path, received_at=desk.clock())
    desk.process_pending()
    assert f"{KIM}生活照.jpg" in photo_names(dossier(desk), KIM)
