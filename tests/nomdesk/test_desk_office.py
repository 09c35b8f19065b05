"""The office's actions through the desk (withdraw, restore, paper copies), a unit's mail, and what neither may do."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from config.campaign import Campaign
from config.settings import Settings
from intake.models import ChangeAction, Dossier
from nomdesk.desk import Desk
from storage.repo import Store
from tests.conftest import SHARED
from tests.support.clock import Clock
from tests.support.service import mail, nomdesk

SAMPLE = SHARED / "samples" / "yanbian_complete" / "1.eml"
YANBIAN = "延边朝鲜族自治州教育局"
SENDER = "ybjyj_zcjy@163.com"  # 延边州's registered address
STAR, OTHER_STAR = "朴英子", "金哲洙"
PROJECT = "“海兰江畔”农民夜校"


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


def dossier(desk: Desk) -> Dossier:
    return desk.evaluate(YANBIAN).dossier


def names(d: Dossier) -> set[str]:
    return {s.name for s in d.stars} | {p.name for p in d.projects}


def send(desk: Desk, tmp_path: Path, subject: str, text: str = "您好！", extra: tuple[bytes, ...] = ()) -> None:
    path = tmp_path / f"{len(list(tmp_path.glob('*.eml')))}.eml"
    path.write_bytes(mail(SENDER, subject=subject, text=text, extra_headers=extra, date=None))
    desk.ingest_file(path, received_at=desk.clock())
    desk.process_pending()


def test_the_office_withdraws_a_star_and_its_files_stay(desk: Desk) -> None:
    files_before = [f for s in desk.store.submissions.of_unit(YANBIAN) for f in desk.store.submissions.files(s.id)]
    done = desk.withdraw(YANBIAN, STAR, actor="office:wu")
    assert (done.name, done.kind, done.label) == (STAR, "star", f"百姓学习之星 {STAR}")
    desk.process_pending()

    d = dossier(desk)
    assert STAR not in names(d) and OTHER_STAR in names(d)
    [gone] = d.withdrawn
    assert (gone.name, gone.kind, gone.by) == (STAR, "star", "office:wu")
    changes = [c for entry in d.log for c in entry.changes if c.action == ChangeAction.WITHDRAWN]
    assert [(c.nominee, c.by) for c in changes] == [(STAR, "office:wu")]
    # Nothing of the star is deleted: every file is still stored, byte for byte where it was.
    assert all(desk.store.submissions.file_path(f).is_file() for f in files_before)
    [audit] = desk.store.audit.entries(unit_name=YANBIAN, action="nominee.withdrawn")
    assert audit.actor == "office:wu" and audit.detail["name"] == STAR and audit.detail["kind"] == "star"


def test_the_office_restores_what_was_withdrawn(desk: Desk) -> None:
    desk.withdraw(YANBIAN, STAR, actor="wu")  # a bare username is an office user
    desk.process_pending()
    done = desk.restore(YANBIAN, STAR, actor="office:wu")
    desk.process_pending()
    d = dossier(desk)
    assert STAR in names(d) and d.withdrawn == []
    restored = [c for entry in d.log for c in entry.changes if c.action == ChangeAction.RESTORED]
    assert [(c.nominee, c.by) for c in restored] == [(STAR, "office:wu")]
    [audit] = desk.store.audit.entries(unit_name=YANBIAN, action="nominee.restored")
    assert audit.actor == "office:wu" and audit.detail["raw_id"] == done.record.id


def test_a_project_is_found_by_its_distinctive_part(desk: Desk) -> None:
    done = desk.withdraw(YANBIAN, "海兰江畔", actor="office:wu")
    assert (done.name, done.kind) == (PROJECT, "project")
    desk.process_pending()
    assert PROJECT not in names(dossier(desk))


def test_what_the_office_cannot_withdraw_or_restore_is_refused_in_chinese(desk: Desk) -> None:
    with pytest.raises(ValueError, match="当前的推荐对象中没有“王五”") as refused:
        desk.withdraw(YANBIAN, "王五", actor="office:wu")
    assert OTHER_STAR in str(refused.value)  # the unit's own nominees, to pick from
    with pytest.raises(ValueError, match="没有撤回，仍在推荐名单中"):
        desk.restore(YANBIAN, STAR, actor="office:wu")
    desk.withdraw(YANBIAN, STAR, actor="office:wu")
    desk.process_pending()
    with pytest.raises(ValueError, match="已撤回，无需重复操作"):
        desk.withdraw(YANBIAN, STAR, actor="office:wu")
    with pytest.raises(ValueError, match="没有已撤回的“王五”"):
        desk.restore(YANBIAN, "王五", actor="office:wu")
    with pytest.raises(ValueError, match="只能由省级办公室"):
        desk.restore(YANBIAN, STAR, actor="wecom:wufengxia")
    with pytest.raises(ValueError, match="尚未报送材料"):
        desk.withdraw("长春市教育局", STAR, actor="office:wu")
    assert len(desk.store.audit.entries(unit_name=YANBIAN, action="nominee.withdrawn")) == 1


def test_a_units_mail_withdraws_by_its_subject(desk: Desk, tmp_path: Path) -> None:
    send(desk, tmp_path, f"撤回 {STAR}")
    d = dossier(desk)
    assert STAR not in names(d)
    assert [(w.name, w.by) for w in d.withdrawn] == [(STAR, "unit")]
    assert desk.store.submissions.of_unit(YANBIAN)[-1].summary["submission"]["withdraw"] == [STAR]


def test_a_units_mail_cannot_restore_even_with_the_desks_own_headers(desk: Desk, tmp_path: Path) -> None:
    send(desk, tmp_path, f"撤回 {STAR}")
    send(desk, tmp_path, f"恢复 {STAR}", text=f"恢复{STAR}")
    forged = (b"X-Nomdesk-Action: restore", f"X-Nomdesk-Nominee: {STAR}".encode(), b"X-Nomdesk-Actor: office:wu")
    send(desk, tmp_path, "补充材料", extra=forged)
    d = dossier(desk)
    assert STAR not in names(d) and [w.name for w in d.withdrawn] == [STAR]
    last = desk.store.submissions.of_unit(YANBIAN)[-1].summary["submission"]
    assert last["restore"] == [] and last["actor"] is None


def test_a_wecom_files_name_withdraws_nobody(desk: Desk) -> None:
    desk.accept_wecom_file("wufengxia", "media-1", f"撤回{STAR}.jpg", b"\xff\xd8\xff\xe0" + b"\x01" * 64)
    desk.process_pending()
    assert STAR in names(dossier(desk))
    assert desk.store.submissions.of_unit(YANBIAN)[-1].summary["submission"]["withdraw"] == []


def test_a_withdrawal_after_the_deadline_is_no_late_delivery(desk: Desk, tmp_path: Path) -> None:
    desk.clock.now = dt.datetime(2021, 9, 3, 2, 0, tzinfo=dt.UTC)  # type: ignore[attr-defined]
    desk.withdraw(YANBIAN, STAR, actor="office:wu")
    desk.process_pending()
    send(desk, tmp_path, f"撤回 {OTHER_STAR}")
    assert "LATE" not in {f.code for f in desk.evaluate(YANBIAN).findings}
    send(desk, tmp_path, "补充材料", text="另附说明。")  # a late mail is still late
    assert "LATE" in {f.code for f in desk.evaluate(YANBIAN).findings}


def test_what_the_desk_queues_wakes_the_pipeline(desk: Desk) -> None:
    """The pipeline loop idles in `wait_for_work`: an action queued wakes it at once, and once."""
    assert desk.wait_for_work(0)  # the fixture's mail woke it (no loop was waiting then)
    assert not desk.wait_for_work(0)  # nothing new since
    done = desk.withdraw(YANBIAN, STAR, actor="office:wu")
    assert desk.wait_for_work(0) and not desk.wait_for_work(0)
    assert desk.store.raw.get(done.record.id).state == "new"  # queued only: processing is the pipeline's


def test_paper_copies_are_rechecked_by_the_pipeline_not_the_caller(desk: Desk) -> None:
    """Recording paper copies only queues the unit's re-check (a page or a WeCom callback must not
    evaluate); the pipeline's next step checks it, once however often it was asked."""
    version = desk.store.evaluations.current_version(YANBIAN)
    assert "PAPER_PENDING" in {f.code for f in desk.store.evaluations.current_findings(YANBIAN)}
    desk.wait_for_work(0)
    desk.record_paper(YANBIAN, dt.date(2021, 8, 30), actor="office:wu")
    desk.record_paper(YANBIAN, dt.date(2021, 8, 30), actor="office:wu")  # a double click
    assert desk.wait_for_work(0)  # the pipeline was woken
    assert desk.store.evaluations.current_version(YANBIAN) == version  # nothing evaluated yet
    assert not desk.await_recheck(YANBIAN, 0)
    assert desk.process_pending() == 1  # one re-check, no raw message
    assert desk.await_recheck(YANBIAN, 0)
    assert desk.store.evaluations.current_version(YANBIAN) == version + 1
    assert "PAPER_PENDING" not in {f.code for f in desk.store.evaluations.current_findings(YANBIAN)}


def test_paper_copies_of_a_unit_with_no_dossier_queue_nothing(desk: Desk, campaign: Campaign) -> None:
    other = next(u.name for u in campaign.units if u.name != YANBIAN)
    desk.record_paper(other, dt.date(2021, 8, 30), actor="office:wu")
    assert desk.store.state.paper_received(other)
    assert desk.process_pending() == 0 and desk.store.evaluations.latest_dossier(other) is None


def test_the_page_learns_whether_the_pipeline_took_what_was_queued(desk: Desk) -> None:
    done = desk.withdraw(YANBIAN, STAR, actor="office:wu")
    assert desk.await_processed(done.record.id, 0.05) is None  # no pipeline ran: still queued
    desk.process_pending()
    assert desk.await_processed(done.record.id, 0).state == "done"


def test_the_offices_notes_name_a_real_nominee_and_never_reach_the_unit(desk: Desk, tmp_path: Path) -> None:
    desk.add_note(YANBIAN, "  电话确认：纸质材料周五寄出  ", actor="office:wu")
    desk.add_note(YANBIAN, "证件照待重拍", actor="office:li", nominee=STAR)
    with pytest.raises(ValueError, match="推荐对象中没有“张三”"):
        desk.add_note(YANBIAN, "无此人", actor="office:wu", nominee="张三")
    with pytest.raises(ValueError, match="备注过长"):
        desk.add_note(YANBIAN, "长" * 2001, actor="office:wu")
    with pytest.raises(ValueError, match="不能为空"):
        desk.add_note(YANBIAN, "   ", actor="office:wu")
    assert [(n.text, n.nominee, n.author) for n in desk.store.state.notes(YANBIAN)] == [
        ("电话确认：纸质材料周五寄出", None, "office:wu"),
        ("证件照待重拍", STAR, "office:li"),
    ]

    send(desk, tmp_path, "补充材料")  # the unit's next receipt
    desk.withdraw(YANBIAN, OTHER_STAR, actor="office:wu")
    desk.process_pending()
    sent = desk.store.outbox.all()
    assert any(r.unit_name == YANBIAN for r in sent)
    assert not any("纸质材料周五寄出" in r.body_text or "证件照待重拍" in r.body_text for r in sent)


def test_a_note_from_the_terminal(desk: Desk) -> None:
    data = desk.settings.data_dir
    done = nomdesk("note", "延边州", "已电话催交视频", "--about", PROJECT, "--data-dir", data)
    assert done.returncode == 0, done.stderr
    assert f"已记下{YANBIAN} {PROJECT}的备注" in done.stdout
    refused = nomdesk("note", YANBIAN, "x", "--about", "张三", "--data-dir", data)
    assert refused.returncode == 2 and "推荐对象中没有“张三”" in refused.stderr
    assert [n.nominee for n in desk.store.state.notes(YANBIAN)] == [PROJECT]
