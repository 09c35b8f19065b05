"""Stamped scans of 附表1/附表3 read by OCR (real LibreOffice to print the form, real tesseract to read it).

The scans are made by tests/support/scans.py: a filled form printed to PDF, rendered at
300 dpi, stamped with a red seal, turned 1.5 degrees and speckled; as a JPG photo and as
an image-only PDF.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from config import Campaign
from intake.forms.scan import looks_like_paper, title_kind
from intake.models import FileKind, Submission
from intake.package import read_submission
from tests.support.forms import cached, star_forms_docx
from tests.support.media import make_photo
from tests.support.scans import form_scan

pytestmark = pytest.mark.skipif(
    shutil.which("tesseract") is None or shutil.which("soffice") is None, reason="needs tesseract and LibreOffice"
)

UNIT = "延边朝鲜族自治州教育局"
STAR = {
    "name": "李春花",
    "gender": "女",
    "birth": "1968年5月",
    "ethnicity": "汉族",
    "politics": "群众",
    "education": "高中",
    "id_number": "222401196805120021",
    "employer_title": "延吉市河南街道社区居民",
    "group": "社区居民",
    "phone": "13943312345",
    "address": "吉林省延吉市河南街道",
    "postcode": "133000",
    "honours": "延边州优秀学习者",
    "story": "李春花长期坚持参加社区学习，带动身边群众共同读书。" * 6,
}
PROJECT = {
    "name": "“海兰江畔”读书会",
    "organizer": "和龙市社区教育学院",
    "leader": "钟丽萍",
    "phone": "18640973401",
    "founded": "2016年3月",
    "people_per_year": "约3000人",
    "participations_per_year": "9000人次",
    "category": "社区教育",
    "online": "是",
    "activities": "读书分享、专题讲座、研学实践。" * 6,
    "measures": "专人负责，经费保障。",
    "effects": "参与群众逐年增加。",
}


def _package(tmp_path: Path, files: dict[str, Path]) -> Path:
    root = tmp_path / "延边州推荐材料"
    for logical, source in files.items():
        target = root / logical
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    return root


def _read(tmp_path: Path, campaign: Campaign, files: dict[str, Path]) -> Submission:
    return read_submission(_package(tmp_path, files), tmp_path / "work", campaign)


def _kind_of(submission: Submission, name: str) -> FileKind:
    (file,) = [f for f in submission.files if f.name == name]
    return file.kind


def test_star_form_photo_scan_is_read(tmp_path: Path, campaign: Campaign) -> None:
    scan = form_scan("star", [STAR], fmt="jpg", unit=UNIT)
    submission = _read(tmp_path, campaign, {"百姓学习之星/推荐表扫描件.jpg": scan})
    (form,) = submission.star_forms
    assert form.scanned
    fields = form.fields
    assert (fields.name, fields.gender) == ("李春花", "女")
    assert fields.birth_parsed is not None and (fields.birth_parsed.year, fields.birth_parsed.month) == (1968, 5)
    assert fields.employer_title == "延吉市河南街道社区居民"
    assert fields.phone == "13943312345"
    assert fields.id_number == "222401196805120021"
    assert fields.story and fields.story.startswith("李春花长期坚持参加社区学习")
    assert form.missing_labels == []
    assert _kind_of(submission, "推荐表扫描件.jpg") == FileKind.STAR_FORM


def test_star_form_pdf_scan_is_read(tmp_path: Path, campaign: Campaign) -> None:
    scan = form_scan("star", [STAR], fmt="pdf", unit=UNIT)
    submission = _read(tmp_path, campaign, {"李春花/推荐表（盖章）.pdf": scan})
    (form,) = submission.star_forms
    assert form.scanned
    assert (form.fields.name, form.fields.phone) == ("李春花", "13943312345")
    assert _kind_of(submission, "推荐表（盖章）.pdf") == FileKind.STAR_FORM


def test_project_form_scan_is_read(tmp_path: Path, campaign: Campaign) -> None:
    scan = form_scan("project", [PROJECT], fmt="jpg", unit=UNIT)
    submission = _read(tmp_path, campaign, {"终身学习品牌项目/海兰江畔/附表3扫描件.jpg": scan})
    assert submission.star_forms == []
    (form,) = submission.project_forms
    assert form.scanned
    fields = form.fields
    # The brand as its folder names it (OCR may slip on one character of it: 畔).
    assert (fields.name, fields.organizer, fields.leader) == ("“海兰江畔”读书会", "和龙市社区教育学院", "钟丽萍")
    assert fields.phone == "18640973401"
    assert fields.founded_parsed is not None and (fields.founded_parsed.year, fields.founded_parsed.month) == (2016, 3)
    assert (fields.people_per_year_n, fields.participations_per_year_n) == (3000, 9000)
    assert fields.unit_line == UNIT
    assert form.missing_labels == []
    assert _kind_of(submission, "附表3扫描件.jpg") == FileKind.PROJECT_FORM


def test_scan_beside_word_form_is_recorded_not_read(tmp_path: Path, campaign: Campaign) -> None:
    word = cached(star_forms_docx, ".docx", persons=[STAR], unit=UNIT)
    scan = form_scan("star", [STAR], fmt="jpg", unit=UNIT)
    started = time.perf_counter()
    submission = _read(tmp_path, campaign, {"李春花/李春花推荐表.docx": word, "李春花/李春花推荐表（盖章）.jpg": scan})
    elapsed = time.perf_counter() - started
    word_forms = [f for f in submission.star_forms if not f.scanned]
    scanned = [f for f in submission.star_forms if f.scanned]
    assert [f.fields.name for f in word_forms] == ["李春花"]
    assert word_forms[0].fields.phone == "13943312345"
    assert [(f.path.rsplit("/", 1)[-1], f.fields.name) for f in scanned] == [("李春花推荐表（盖章）.jpg", "李春花")]
    assert _kind_of(submission, "李春花推荐表（盖章）.jpg") == FileKind.STAR_FORM
    # Only its title band was read: well under a full page's OCR.
    assert elapsed < 8, elapsed


def test_ordinary_photos_are_not_ocr_read(tmp_path: Path, campaign: Campaign) -> None:
    # Portrait and large enough to pass the size check: the thumbnail's colours rule them out.
    photos = {f"李春花/生活照{i}.jpg": make_photo(1200, 1700, text=f"生活照{i}") for i in range(3)}
    photos["李春花/证件照.jpg"] = make_photo(1200, 1600, grey=True, text="证件照")
    started = time.perf_counter()
    submission = _read(tmp_path, campaign, photos)
    elapsed = time.perf_counter() - started
    assert submission.star_forms == []
    assert {f.kind for f in submission.files} == {FileKind.PHOTO}
    assert elapsed < 3, elapsed  # no tesseract run (one takes ~1 s)


def test_paper_look_and_title_words(campaign: Campaign) -> None:
    rules = campaign.scans
    assert looks_like_paper(form_scan("star", [STAR], fmt="jpg", unit=UNIT), rules)
    assert not looks_like_paper(make_photo(1200, 1700, text="生活照0"), rules)
    assert title_kind("附表 1\n百 姓 学 习 之 星 推 荐 表", rules) == "star"
    assert title_kind("终身学习品牌项目推存表", rules) == "project"  # one character misread
    assert title_kind("百姓学习之星推荐登记表", rules) is None  # a scanned register is the unit's document
    assert title_kind("关于推荐百姓学习之星的函", rules) is None


def test_scan_without_tesseract_stays_a_photo(
    tmp_path: Path, campaign: Campaign, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr("intake.forms.scan.tesseract_binary", lambda: None)
    scan = form_scan("star", [STAR], fmt="jpg", unit=UNIT)
    submission = _read(tmp_path, campaign, {"百姓学习之星/推荐表扫描件.jpg": scan})
    assert submission.star_forms == []
    assert _kind_of(submission, "推荐表扫描件.jpg") == FileKind.DOCUMENT  # as before OCR: named a scan
    assert "tesseract is not installed" in caplog.text


def test_scan_past_its_timeout_stays_a_photo(
    tmp_path: Path, campaign: Campaign, caplog: pytest.LogCaptureFixture
) -> None:
    quick = campaign.model_copy(update={"scans": campaign.scans.model_copy(update={"page_timeout_seconds": 0.01})})
    scan = form_scan("star", [STAR], fmt="jpg", unit=UNIT)
    submission = _read(tmp_path, quick, {"百姓学习之星/推荐表扫描件.jpg": scan})
    assert submission.star_forms == []
    assert _kind_of(submission, "推荐表扫描件.jpg") == FileKind.DOCUMENT  # as before OCR: named a scan
    assert "took more than" in caplog.text


def test_scan_of_another_person_in_a_shared_folder_is_read(tmp_path: Path, campaign: Campaign) -> None:
    other = {**STAR, "name": "王丽华", "phone": "13604431234", "story": "王丽华坚持学习。" * 10}
    word = cached(star_forms_docx, ".docx", persons=[STAR], unit=UNIT)
    scan = form_scan("star", [other], fmt="jpg", unit=UNIT)
    files = {"百姓学习之星/李春花推荐表.docx": word, "百姓学习之星/王丽华推荐表（盖章）.jpg": scan}
    submission = _read(tmp_path, campaign, files)
    scanned = [f for f in submission.star_forms if f.scanned]
    assert [(f.fields.name, f.fields.phone) for f in scanned] == [("王丽华", "13604431234")]


def test_scan_of_a_longer_name_is_not_the_twin_of_a_shorter_ones_word_form(tmp_path: Path, campaign: Campaign) -> None:
    """李春's Word form does not make 李春花's stamped scan a mere copy of it: names are matched at
    name boundaries (RULES.md "Matching files to nominees"), so the scan is read for 李春花."""
    short = {**STAR, "name": "李春", "phone": "13604431234", "story": "李春坚持学习。" * 10}
    word = cached(star_forms_docx, ".docx", persons=[short], unit=UNIT)
    scan = form_scan("star", [STAR], fmt="jpg", unit=UNIT)
    files = {"百姓学习之星/李春/李春推荐表.docx": word, "百姓学习之星/李春花/李春花推荐表（盖章）.jpg": scan}
    submission = _read(tmp_path, campaign, files)
    scanned = [f for f in submission.star_forms if f.scanned]
    assert [(f.fields.name, f.fields.phone) for f in scanned] == [("李春花", "13943312345")]
