"""What a clerk reads about a stamped scan of a form: the receipt's line for the file, the
checklist's mark ("推荐表 扫描件（自动识别）", "推荐表✓，盖章扫描件✓"), and the field-missing rule,
which asks for the Word version, as a warning, only when OCR could not read a required field.

The scans are as OCR hands them on, in hand-built mails merged by the real merge
(tests.support.scanned_forms); the rules and the receipt are the real ones.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from config.campaign import Campaign
from intake.models import Dossier, YearMonth
from nomdesk.check import check_paths
from notify.compose import compose_receipt
from tests.support.dossiers import PROJECT_NAMES, STAR_NAMES
from tests.support.packages import build_eml, complete_city_package
from tests.support.scanned_forms import build, mail, scan_of, submission_of, with_forms, word_form
from validators import run_rules
from validators.base import Finding, Severity, render

KIM = STAR_NAMES[0]
PROJECT = PROJECT_NAMES[0]
SCAN = f"{KIM}推荐表（盖章扫描件）.pdf"  # the file name submission_of gives a scan sent instead of the form
BOTH = f"✓ 百姓学习之星 {KIM}：推荐表✓，盖章扫描件✓，照片2张✓，无视频"  # a Word form and its stamped scan


def receipt(dossier: Dossier, campaign: Campaign, *, incomplete: bool = False) -> tuple[str, list[Finding]]:
    findings = run_rules(dossier, campaign)
    now = campaign.deadline_end - dt.timedelta(days=2)
    reply = compose_receipt(dossier, findings, campaign, now=now, incomplete=incomplete)
    return reply.text, findings


def checklist_line(text: str, heading: str) -> str:
    (line,) = [ln.strip() for ln in text.splitlines() if f" {heading}：" in ln]
    return line


def test_a_scan_read_in_full_counts_as_the_form_and_is_marked(campaign: Campaign) -> None:
    text, findings = receipt(build(campaign, submission_of(campaign, scanned_only={KIM: ()})), campaign)
    assert findings == []  # no 未收到推荐表, no warning: every required field was read
    assert f"{SCAN}：{KIM} 推荐表 扫描件（自动识别）" in text
    line = checklist_line(text, f"百姓学习之星 {KIM}")
    assert line == f"✓ 百姓学习之星 {KIM}：推荐表 扫描件（自动识别）✓，照片2张✓，无视频"
    assert "材料齐全" in text and "Word" not in text


def test_fields_ocr_could_not_read_ask_for_the_word_form_as_a_warning(campaign: Campaign) -> None:
    unread = {KIM: ("birth", "birth_parsed", "phone"), PROJECT: ("leader",)}
    text, findings = receipt(build(campaign, submission_of(campaign, scanned_only=unread)), campaign)
    assert [(f.code, f.severity, f.nominee) for f in findings] == [
        ("STAR_FIELD_MISSING", Severity.WARNING, KIM),
        ("PROJECT_FIELD_MISSING", Severity.WARNING, PROJECT),
    ]
    star, project = (render(f) for f in findings)
    assert star[0] == f"{KIM} 的附表1 扫描件中以下栏目未能自动识别：出生年月、联系电话，请补发 Word 版推荐表"
    assert project[0] == f"{PROJECT} 的附表3 扫描件中以下栏目未能自动识别：项目负责人，请补发 Word 版推荐表"
    assert "Word 文件" in star[1] and "盖章扫描件已收到" in star[1]
    assert findings[0].evidence == {"missing": {"附表1": ["出生年月", "联系电话"]}, "scanned": True}
    # the reply: a warning to check (not 必须修改), the form ⚠ and still counted
    assert f"[请核实] {star[0]}" in text and "必须修改" not in text
    assert checklist_line(text, f"百姓学习之星 {KIM}").startswith(f"⚠ 百姓学习之星 {KIM}：推荐表 扫描件（自动识别）⚠，")


def test_a_gap_in_the_table_is_still_an_error_beside_a_scan_warning(campaign: Campaign) -> None:
    sub = submission_of(campaign, scanned_only={KIM: ("employer_title",)})
    sub.registers[0].star_rows[0].phone = None
    _, findings = receipt(build(campaign, sub), campaign)
    assert [(f.code, f.severity) for f in findings] == [
        ("STAR_FIELD_MISSING", Severity.ERROR),
        ("STAR_FIELD_MISSING", Severity.WARNING),
    ]
    error, warning = (render(f)[0] for f in findings)
    assert error == f"{KIM} 的必填项未填写（或表中找不到这一栏）：附表2 缺少：联系电话"
    assert "扫描件中以下栏目未能自动识别：工作单位及职务（职业）" in warning and "联系电话" not in warning


def test_a_word_form_left_empty_is_an_error_as_before(campaign: Campaign) -> None:
    sub = submission_of(campaign)
    sub.star_forms[0].fields.phone = ""
    _, findings = receipt(build(campaign, sub), campaign)
    (found,) = findings
    assert (found.code, found.severity) == ("STAR_FIELD_MISSING", Severity.ERROR)
    message, hint = render(found)
    assert message == f"{KIM} 的必填项未填写（或表中找不到这一栏）：附表1 缺少：联系电话"
    assert hint.startswith("请补全上述必填项；登记表（附表2）与推荐表（附表1）") and "扫描件" not in message + hint


def test_a_scan_beside_the_word_form_adds_only_its_mark(campaign: Campaign) -> None:
    scan = scan_of(word_form(campaign, KIM), f"补充/{KIM}盖章页.pdf", 1, unread=("phone", "story"))
    text, findings = receipt(build(campaign, submission_of(campaign), with_forms(mail(1), scan)), campaign)
    assert findings == []
    assert f"本次收到 1 个文件：\n  {KIM}盖章页.pdf：{KIM} 盖章扫描件\n" in text
    assert "替换" not in text and "无法归属" not in text and "扫描件（自动识别）" not in text
    assert checklist_line(text, f"百姓学习之星 {KIM}") == BOTH


def test_a_word_form_after_a_scan_says_what_it_replaced(campaign: Campaign) -> None:
    word = word_form(campaign, KIM).model_copy(update={"path": f"补充/{KIM}推荐表.docx", "submission": 1})
    first = submission_of(campaign, scanned_only={KIM: ("phone",)})
    text, findings = receipt(build(campaign, first, with_forms(mail(1), word)), campaign)
    assert findings == []  # the unread phone went with the scan
    assert f"{KIM}推荐表.docx：{KIM} 推荐表（替换原推荐表 {SCAN}）" in text
    assert f"替换：{KIM} 推荐表" in text
    assert checklist_line(text, f"百姓学习之星 {KIM}") == BOTH


@pytest.mark.parametrize("scanned_only", [True, False], ids=["scan-only", "word-and-scan"])
def test_a_check_that_did_not_finish_lists_the_scan_unmarked(campaign: Campaign, scanned_only: bool) -> None:
    sub = submission_of(campaign, scanned_only={KIM: ()} if scanned_only else None)
    if not scanned_only:
        with_forms(sub, scan_of(sub.star_forms[0], SCAN, 0))
    text, _ = receipt(build(campaign, sub), campaign, incomplete=True)
    expected = "推荐表 扫描件（自动识别）" if scanned_only else "推荐表，盖章扫描件"
    assert checklist_line(text, f"百姓学习之星 {KIM}") == f"百姓学习之星 {KIM}：{expected}，照片2张，无视频"
    assert "✓" not in text


def test_a_scan_misread_founding_date_is_not_judged_beside_the_tables(campaign: Campaign) -> None:
    """OCR read 2015 as 2019: the table's date, typed by the unit, is the one judged."""
    sub = submission_of(campaign, scanned_only={PROJECT: ()})
    scan = next(f for f in sub.project_forms if f.scanned)
    misread = YearMonth(year=campaign.deadline.year - 1, month=3)
    scan.fields.founded, scan.fields.founded_parsed = str(misread), misread
    _, findings = receipt(build(campaign, sub), campaign)
    assert findings == []
    sub.registers[1].project_rows[0].founded_parsed = misread  # the table says so too: judged
    _, findings = receipt(build(campaign, sub), campaign)
    assert [(f.code, f.nominee) for f in findings] == [("PROJECT_AGE", PROJECT)]


@pytest.mark.skipif(shutil.which("tesseract") is None or shutil.which("soffice") is None, reason="needs OCR")
def test_real_scans_sent_after_the_package_read_end_to_end(campaign: Campaign, tmp_path: Path) -> None:
    """Two stars' 附表1 come later as stamped photos (real LibreOffice print, real tesseract): one
    filled in full, one whose paper has no phone. Both count; only the second asks for Word."""
    from tests.support.scans import form_scan

    spec = complete_city_package(campaign)
    full, no_phone = spec.stars[3], spec.stars[4]
    later = tmp_path / "补发推荐表"
    for star, blank in ((full, {}), (no_phone, {"phone": ""})):
        star.form = False
        scan = form_scan("star", [{**star.fields, **star.form_fields, **blank}], fmt="jpg")
        target = later / "百姓学习之星" / star.name / f"{star.name}推荐表（盖章扫描件）.jpg"
        target.parent.mkdir(parents=True)
        shutil.copyfile(scan, target)
    (tmp_path / "work").mkdir()
    result = check_paths([build_eml(spec, tmp_path / "1.eml"), later], campaign, workdir=tmp_path / "work")
    assert result is not None
    assert [(f.code, f.severity, f.nominee) for f in result.findings] == [
        ("STAR_FIELD_MISSING", Severity.WARNING, no_phone.name)
    ]
    assert render(result.findings[0])[0].endswith("扫描件中以下栏目未能自动识别：联系电话，请补发 Word 版推荐表")
    reply = compose_receipt(result.dossier, result.findings, campaign, now=campaign.deadline_end - dt.timedelta(days=2))
    assert f"{full.name}推荐表（盖章扫描件）.jpg：{full.name} 推荐表 扫描件（自动识别）" in reply.text
    line = checklist_line(reply.text, f"百姓学习之星 {full.name}")
    assert line == f"✓ 百姓学习之星 {full.name}：推荐表 扫描件（自动识别）✓，照片2张✓，无视频"
    assert checklist_line(reply.text, f"百姓学习之星 {no_phone.name}").startswith("⚠")
