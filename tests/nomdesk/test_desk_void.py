"""The office voids (作废) a submission (issue 13): the dossier, the nominee table other units are
compared with and the roster are rebuilt without it, nothing is deleted, and the unit's next
receipt names the voided submission and why, once."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
from openpyxl import load_workbook

from config.campaign import Campaign
from nomdesk.desk import Desk
from nomdesk.exports import roster_xlsx
from notify.outbox import OutboxWorker
from schedule.status import collect_status
from tests.conftest import SHARED
from tests.support.clock import Clock
from tests.support.extra_star import FORGED_STAR, FORGED_SUBJECT, extra_star_mail
from tests.support.mail import attachment, filename_rfc2047
from tests.support.media import make_photo
from tests.support.service import body_text, mail, outbox_mails

UNIT = "延边朝鲜族自治州教育局"
SENDER = "ybjyj_zcjy@163.com"  # 延边州's registered contact
FIRST = SHARED / "samples" / "yanbian_complete" / "1.eml"  # 8 stars, 5 projects
REASON = "冒用联系人邮箱发送，非本单位报送"


def _send(desk: Desk, clock: Clock, path: Path, worker: OutboxWorker) -> None:
    desk.ingest_file(path, received_at=clock())
    desk.process_pending()
    worker.run_once()  # the receipt goes out (into DIR/outbox: no SMTP configured)
    clock.now += dt.timedelta(minutes=10)


def _photo_mail(path: Path) -> Path:
    photo = make_photo(800, 600, text="金哲洙补充").read_bytes()
    part = attachment(photo, filename_rfc2047("金哲洙生活照9.jpg"), content_type="image/jpeg")
    path.write_bytes(mail(SENDER, subject="补充照片", parts=[part], date=None))
    return path


def _roster_names(desk: Desk, campaign: Campaign) -> set[str]:
    workbook = load_workbook(io.BytesIO(roster_xlsx(desk.store, collect_status(desk.store, campaign))))
    return {str(cell.value) for sheet in workbook for row in sheet.iter_rows() for cell in row if cell.value}


def _star_names(desk: Desk) -> list[str]:
    snapshot = desk.store.evaluations.latest_dossier(UNIT)
    assert snapshot is not None
    return [s["name"] for s in snapshot.dossier["stars"]]


def test_a_voided_submission_leaves_the_dossier_and_the_next_receipt_says_why(
    desk: Desk, campaign: Campaign, clock: Clock, tmp_path: Path
) -> None:
    worker = OutboxWorker(desk.store, smtp=None, outbox_dir=tmp_path / "var" / "outbox", clock=clock)
    _send(desk, clock, FIRST, worker)
    _send(desk, clock, extra_star_mail(campaign, tmp_path / "forged.eml"), worker)
    assert FORGED_STAR in _star_names(desk) and len(_star_names(desk)) == 9
    assert FORGED_STAR in _roster_names(desk, campaign)
    forged = desk.store.submissions.of_unit(UNIT)[-1]
    assert forged.unit_index == 2
    files = desk.store.submissions.files(forged.id)

    desk.void(forged.id, actor="office:wu", reason=REASON)
    desk.process_pending()  # the re-check the void queued, as the pipeline thread runs it

    # The dossier, the nominee table and the roster are rebuilt without the voided mail.
    assert FORGED_STAR not in _star_names(desk) and len(_star_names(desk)) == 8
    assert FORGED_STAR not in {n.name for n in desk.store.evaluations.nominees(UNIT)}
    assert FORGED_STAR not in _roster_names(desk, campaign)
    [row] = [u for u in desk.store.overview.units() if u.name == UNIT]
    assert row.submissions == 1
    # Nothing the unit sent is deleted: the raw mail and every file stay where they were.
    raw = desk.store.raw.get(forged.raw_message_id)
    assert raw is not None and desk.store.raw.path(raw).is_file()
    assert files and all(desk.store.submissions.file_path(f).is_file() for f in files)
    [audit] = desk.store.audit.entries(unit_name=UNIT, action="submission.voided")
    assert audit.actor == "office:wu" and audit.detail["reason"] == REASON
    sent_before = len(outbox_mails(tmp_path / "var"))  # the void itself mails nobody

    # The unit's next mail: its receipt names the voided submission, with the reason.
    _send(desk, clock, _photo_mail(tmp_path / "3.eml"), worker)
    mails = outbox_mails(tmp_path / "var")
    assert len(mails) == sent_before + 1
    text = body_text(mails[-1])
    assert "受理编号：延边-03" in text  # the voided 02 keeps its number; the next is 03
    assert "办公室已作废的报送：" in text
    assert f"延边-02（2021-08-21 收到，主题：{FORGED_SUBJECT}）：原因：{REASON}" in text
    assert "百姓学习之星 8 名" in text and FORGED_STAR not in text
    assert f"原因：{REASON}" in mails[-1].get_body(("html",)).get_content()

    # Reported once: the receipt after that does not repeat it.
    _send(desk, clock, _photo_mail(tmp_path / "4.eml"), worker)
    later = body_text(outbox_mails(tmp_path / "var")[-1])
    assert "受理编号：延边-04" in later and "作废" not in later


def test_voiding_twice_is_refused_in_chinese_and_a_void_can_be_taken_back(
    desk: Desk, campaign: Campaign, clock: Clock, tmp_path: Path
) -> None:
    worker = OutboxWorker(desk.store, smtp=None, outbox_dir=tmp_path / "var" / "outbox", clock=clock)
    _send(desk, clock, FIRST, worker)
    _send(desk, clock, extra_star_mail(campaign, tmp_path / "forged.eml"), worker)
    forged = desk.store.submissions.of_unit(UNIT)[-1]
    with pytest.raises(ValueError, match="请填写作废原因"):
        desk.void(forged.id, actor="office:wu", reason="")
    desk.void(forged.id, actor="office:wu", reason=REASON)
    with pytest.raises(ValueError, match="已由 office:wu 作废，无需重复操作"):
        desk.void(forged.id, actor="office:li", reason="再作废一次")
    with pytest.raises(ValueError, match="没有编号为 9999 的报送"):
        desk.void(9999, actor="office:wu", reason=REASON)
    desk.process_pending()
    assert FORGED_STAR not in _star_names(desk)

    desk.unvoid(forged.id, actor="office:wu")
    desk.process_pending()
    assert FORGED_STAR in _star_names(desk)
    assert len(desk.store.audit.entries(unit_name=UNIT, action="submission.voided")) == 1
    assert len(desk.store.audit.entries(unit_name=UNIT, action="submission.unvoided")) == 1


def test_a_unit_whose_only_submission_is_voided_has_nothing_counted(desk: Desk, clock: Clock, tmp_path: Path) -> None:
    worker = OutboxWorker(desk.store, smtp=None, outbox_dir=tmp_path / "var" / "outbox", clock=clock)
    _send(desk, clock, FIRST, worker)
    [only] = desk.store.submissions.of_unit(UNIT)
    desk.void(only.id, actor="office:wu", reason="误发")
    desk.process_pending()
    assert _star_names(desk) == []
    assert desk.store.evaluations.nominees(UNIT) == []
