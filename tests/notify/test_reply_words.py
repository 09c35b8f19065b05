"""The words of a receipt as a clerk reads them: no jargon, nothing said twice, the late mail named
for what it is, and the paper-copy reminder once, and not once the paper is recorded or posted.

Real parts where the words come from them: real archives read by the real intake, the real
rules, the desk's real outbox for the paper copy.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from config.campaign import Campaign
from config.settings import Settings
from intake.models import Submission
from intake.package import read_submission
from nomdesk.check import check_paths, check_submissions
from nomdesk.desk import Desk
from notify.compose import compose_reply
from notify.paper import PAPER_POSTED_NOTE, PAPER_RECEIVED_NOTE, paper_reminder
from storage.repo import Store
from tests.conftest import SHARED
from tests.support.archives import encrypted_zip, overlapping_zip, zip_bytes
from tests.support.clock import Clock
from tests.support.dossiers import city_dossier, video_file
from tests.support.mail import attachment, build_mail, filename_rfc2047
from tests.support.service import mail
from validators import run_rules

NOW = dt.datetime(2021, 8, 25, 2, 0, tzinfo=dt.UTC)
SAMPLE = SHARED / "samples" / "yanbian_complete" / "1.eml"
YANBIAN = "延边朝鲜族自治州教育局"
SENDER = "ybjyj_zcjy@163.com"


def _receipt_of(tmp_path: Path, campaign: Campaign, name: str, data: bytes, text: str = "推荐材料见附件。") -> str:
    eml = tmp_path / "1.eml"
    part = attachment(data, filename_rfc2047(name), content_type="application/zip")
    eml.write_bytes(build_mail([part], text=text))
    result = check_paths([eml], campaign, workdir=tmp_path)
    assert result is not None
    return compose_reply(result.dossier, result.findings, campaign, now=NOW).text


def _problem_lines(text: str) -> list[str]:
    return [ln.strip() for ln in text.splitlines() if ln.strip().startswith("- [")]


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(zip_bytes({"ok.txt": b"ok", "../../evil.txt": b"evil"}), id="path-escape"),
        pytest.param(zip_bytes({"a.txt": b"x"}, symlinks={"link": "/etc/passwd"}), id="symlink"),
        pytest.param(overlapping_zip(), id="overlapping-bomb"),
    ],
)
def test_an_unsafe_archive_asks_the_clerk_to_repack_without_jargon(
    tmp_path: Path, campaign: Campaign, data: bytes
) -> None:
    text = _receipt_of(tmp_path, campaign, "材料.zip", data)
    (line,) = [ln for ln in _problem_lines(text) if "材料.zip" in ln]
    assert line == "- [必须修改] 压缩包 材料.zip 内容异常，无法安全解压"
    assert "修改建议：请重新打包后发送" in text
    for jargon in ("越出目录", "evil", "符号链接", "压缩炸弹", "重叠", "/etc/passwd"):
        assert jargon not in text, jargon


def test_the_office_still_sees_why_an_archive_was_refused(tmp_path: Path, campaign: Campaign) -> None:
    eml = tmp_path / "1.eml"
    data = zip_bytes({"ok.txt": b"ok", "../../evil.txt": b"evil"})
    eml.write_bytes(build_mail([attachment(data, filename_rfc2047("材料.zip"))]))
    result = check_paths([eml], campaign, workdir=tmp_path)
    assert result is not None
    (refused,) = [f for f in result.findings if f.code == "ARCHIVE_REJECTED"]
    assert refused.evidence["detail"] == "压缩包内的路径越出目录：../../evil.txt"


def test_an_encrypted_archive_is_said_once_per_line(tmp_path: Path, campaign: Campaign) -> None:
    text = _receipt_of(tmp_path, campaign, "加密材料.zip", encrypted_zip({"推荐表.txt": b"x"}))
    (line,) = [ln for ln in _problem_lines(text) if "加密材料.zip" in ln]
    assert line == "- [必须修改] 压缩包 加密材料.zip 设有密码，无法解压"
    for ln in text.splitlines():
        assert ln.count("设有密码") <= 1, ln


def test_a_quicktime_movie_named_mp4_is_called_what_it_is(campaign: Campaign) -> None:
    d = city_dossier(campaign)
    d.projects[0].videos = [video_file("项目/海兰江畔/视频.mp4", 270, container="mov")]
    text = compose_reply(d, run_rules(d, campaign, strict=True), campaign, now=NOW).text
    (line,) = [ln for ln in _problem_lines(text) if "视频.mp4" in ln]
    assert "文件名是 .mp4，但实际是 QuickTime（MOV）格式的视频，不是 MP4" in line
    assert "导出（转换）为 MP4（H.264 编码）" in line
    assert "格式 MOV" not in text


def test_a_late_mail_is_labelled_as_late_with_both_times(campaign: Campaign) -> None:
    d = city_dossier(campaign)
    d.submissions[0].subject = "延边州推荐材料"
    d.submissions[0].arrived_at = campaign.deadline_end + dt.timedelta(hours=9, minutes=30)
    text = compose_reply(d, run_rules(d, campaign, strict=True), campaign, now=NOW).text
    (line,) = [ln for ln in _problem_lines(text) if "延边州推荐材料" in ln]
    assert line == (
        "- [截止后收到] 邮件「延边州推荐材料」于 2021年8月31日 09:30 收到，已过报送截止时间（2021年8月30日 24:00）"
    )


# ---- the paper copy -----------------------------------------------------------------------------


def _submissions(tmp_path: Path, campaign: Campaign, text: str) -> list[Submission]:
    """延边州's complete sample package, read by the real intake, its mail saying `text`."""
    sub = read_submission(SAMPLE, tmp_path / "s0", campaign, 0)
    sub.body_text = text
    return [sub]


def _paper_mentions(text: str, campaign: Campaign) -> int:
    """How many lines ask the unit to post its paper copy (the finding's hint, the footer's line)."""
    return sum(1 for line in text.splitlines() if re.search(r"请.*邮寄", line))


def test_the_paper_reminder_is_said_once_when_paper_is_pending(tmp_path: Path, campaign: Campaign) -> None:
    result = check_submissions(_submissions(tmp_path, campaign, "推荐材料见附件。"), campaign, paper_received=False)
    assert "PAPER_PENDING" in {f.code for f in result.findings}
    text = compose_reply(result.dossier, result.findings, campaign, now=NOW).text
    assert _paper_mentions(text, campaign) == 1  # the finding's hint; the footer does not repeat it
    assert "纸质" in text and paper_reminder(campaign) not in text


def test_offline_the_footer_carries_the_one_reminder(tmp_path: Path, campaign: Campaign) -> None:
    result = check_submissions(_submissions(tmp_path, campaign, "推荐材料见附件。"), campaign)  # paper unknown
    text = compose_reply(result.dossier, result.findings, campaign, now=NOW).text
    assert _paper_mentions(text, campaign) == 1 and paper_reminder(campaign) in text


def test_no_reminder_once_the_office_recorded_the_paper(tmp_path: Path, campaign: Campaign) -> None:
    result = check_submissions(_submissions(tmp_path, campaign, "推荐材料见附件。"), campaign, paper_received=True)
    text = compose_reply(result.dossier, result.findings, campaign, now=NOW).text
    assert _paper_mentions(text, campaign) == 0 and PAPER_RECEIVED_NOTE in text


POSTED = ["盖章的纸质材料已寄出。", "纸质版已邮寄，快递单号：SF1234567890", "纸质材料已寄送，请查收"]


@pytest.mark.parametrize("words", POSTED)
def test_no_reminder_when_the_mail_says_the_paper_is_posted(tmp_path: Path, campaign: Campaign, words: str) -> None:
    result = check_submissions(
        _submissions(tmp_path, campaign, f"吴老师：\n您好！推荐材料见附件。{words}"), campaign, paper_received=False
    )
    assert result.dossier.paper_posted
    assert "PAPER_PENDING" not in {f.code for f in result.findings}
    text = compose_reply(result.dossier, result.findings, campaign, now=NOW).text
    assert _paper_mentions(text, campaign) == 0 and PAPER_POSTED_NOTE in text


def test_the_desks_own_words_never_read_as_posted(campaign: Campaign) -> None:
    """A unit's reply quotes the receipt: nothing the desk writes about the paper may say "posted"."""
    for text in (PAPER_POSTED_NOTE, PAPER_RECEIVED_NOTE, paper_reminder(campaign)):
        assert not any(w in text for w in campaign.office.paper_posted_words), text


@pytest.fixture
def desk(tmp_path: Path, campaign: Campaign) -> Iterator[Desk]:
    data = tmp_path / "var"
    clock = Clock(NOW, step=dt.timedelta(minutes=1))
    with Store.open(data) as store:
        store.directory.sync_units(campaign)
        yield Desk(Settings(data_dir=data), campaign, store, clock=clock)


def _send(desk: Desk, tmp_path: Path, text: str) -> str:
    """A mail of 延边州 through the desk; the receipt it queued, as the unit reads it."""
    path = tmp_path / f"{len(list(tmp_path.glob('*.eml')))}.eml"
    path.write_bytes(mail(SENDER, subject="补充说明", text=text, date=None))
    desk.ingest_file(path, received_at=desk.clock())
    desk.process_pending()
    rows = [r for r in desk.store.outbox.all(unit_name=YANBIAN) if r.channel == "mail"]
    return max(rows, key=lambda r: r.id).body_text


def test_the_desk_stops_reminding_once_the_paper_is_recorded(desk: Desk, tmp_path: Path, campaign: Campaign) -> None:
    desk.ingest_file(SAMPLE, received_at=desk.clock())
    desk.process_pending()
    first = max(desk.store.outbox.all(unit_name=YANBIAN), key=lambda r: r.id).body_text
    assert _paper_mentions(first, campaign) == 1
    desk.record_paper(YANBIAN, dt.date(2021, 8, 24), actor="office:wu")
    desk.process_pending()
    later = _send(desk, tmp_path, "您好！再补充一点说明。")
    assert _paper_mentions(later, campaign) == 0 and PAPER_RECEIVED_NOTE in later


def test_the_desk_stops_reminding_once_the_unit_says_posted(desk: Desk, tmp_path: Path, campaign: Campaign) -> None:
    desk.ingest_file(SAMPLE, received_at=desk.clock())
    desk.process_pending()
    later = _send(desk, tmp_path, "吴老师您好！盖章纸质材料今天已寄出，快递单号 SF1234567890。")
    assert _paper_mentions(later, campaign) == 0 and PAPER_POSTED_NOTE in later
