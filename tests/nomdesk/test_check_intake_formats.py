"""`nomdesk check` on a complete package where one file is sent the way clerks really send it.

Each case is a clean package (no finding) with one file renamed, re-encoded, truncated or
relabelled on disk: the desk must still read it (a workbook renamed .et, a UTF-16 summary,
a label written otherwise, a founding date of "2015年初"), not count it as something it is
not (a scan of the stamped form is no photo), and name a damaged file as what the clerk sent.
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import docx
import openpyxl
import pytest

from config import Campaign
from intake.forms.summary import count_chars
from tests.support.dossiers import PROJECT_NAMES, STAR_NAMES
from tests.support.media import make_photo
from tests.support.packages import build_folder, check_json, complete_city_package, project_folder

ROOT = "延边州推荐材料"
REGISTER = "附表2 百姓学习之星推荐登记表.xlsx"
Edit = Callable[[Path, Campaign], None]


def _check(campaign: Campaign, tmp_path: Path, edit: Edit) -> dict[str, Any]:
    spec = dataclasses.replace(complete_city_package(campaign))
    folder = build_folder(spec, tmp_path / "package")
    edit(folder / ROOT, campaign)
    result = check_json([folder], campaign)
    assert result is not None
    return result


def _findings(result: dict[str, Any]) -> list[tuple[str, str]]:
    return [(f["code"], f["message_zh"]) for f in result["findings"]]


def _rename_register(new_name: str) -> Edit:
    def edit(root: Path, _campaign: Campaign) -> None:
        (root / REGISTER).rename(root / new_name)

    return edit


def _utf16_summary(root: Path, campaign: Campaign) -> None:
    folder = root / "终身学习品牌项目" / project_folder(PROJECT_NAMES[0])
    (old,) = folder.glob("*工作总结.docx")
    sentence = "本项目坚持面向群众开展学习活动，线上线下结合，参与人数逐年增加。"
    summary = campaign.project.summary
    target = (summary.min_chars + summary.max_chars) // 2
    text = (sentence * (target // count_chars(sentence) + 1))[:target]
    old.with_suffix(".txt").write_bytes(text.encode("utf-16"))  # Notepad's "Unicode": BOM FF FE
    old.unlink()


def _scan_of_the_form(name: str) -> Edit:
    def edit(root: Path, _campaign: Campaign) -> None:
        shutil.copyfile(make_photo(1240, 1754, text="盖章"), root / "百姓学习之星" / STAR_NAMES[0] / name)

    return edit


def _relabel_project_form(old: str, new: str, value: Callable[[Campaign], str] | None = None) -> Edit:
    """Write another label (and value) in the first project's 附表3, as a unit's own copy of the form has it."""

    def edit(root: Path, campaign: Campaign) -> None:
        path = root / "终身学习品牌项目" / project_folder(PROJECT_NAMES[0]) / "附表3 终身学习品牌项目推荐表.docx"
        document = docx.Document(str(path))
        for table in document.tables:
            for row in table.rows:
                cells = row.cells
                for i, cell in enumerate(cells):
                    if cell.text == old:
                        cell.text = new
                        if value is not None:
                            cells[i + 1].text = value(campaign)
        document.save(str(path))

    return edit


def _year_part(campaign: Campaign) -> str:
    return f"{campaign.deadline.year - campaign.project.min_age_years - 1}年初"


def _founded_roughly(root: Path, campaign: Campaign) -> None:
    """The first project's 创建时间 written "<year>年初" in both its 附表3 and the 附表4 row."""
    _relabel_project_form("创建时间", "创建时间", _year_part)(root, campaign)
    path = root / "附表4 终身学习品牌项目推荐登记表.xlsx"
    workbook = openpyxl.load_workbook(path)
    sheet = workbook.active
    cells = [c for row in sheet.iter_rows() for c in row]
    column = next(c.column for c in cells if c.value == "创建时间")
    row = next(c.row for c in cells if c.value == PROJECT_NAMES[0])
    sheet.cell(row=row, column=column).value = _year_part(campaign)
    workbook.save(path)


CLEAN_CASES: dict[str, Edit] = {
    "xlsx-renamed-et": _rename_register("附表2 百姓学习之星推荐登记表.et"),
    "xlsx-renamed-xls": _rename_register("附表2 百姓学习之星推荐登记表.xls"),
    "xlsx-without-extension": _rename_register("附表2 百姓学习之星推荐登记表"),
    "utf16-summary": _utf16_summary,
    "form-scan-jpg": _scan_of_the_form(f"{STAR_NAMES[0]}推荐表（盖章扫描件）.jpg"),
    "form-page-jpg": _scan_of_the_form("附表1盖章页.jpg"),
    "founded-label-创建年月": _relabel_project_form("创建时间", "创建年月"),
    "leader-label-项目负责人及职务": _relabel_project_form("项目负责人", "项目负责人及职务"),
    "founded-2015年初": _founded_roughly,
}


@pytest.mark.parametrize("edit", CLEAN_CASES.values(), ids=list(CLEAN_CASES))
def test_a_file_sent_otherwise_is_still_read(edit: Edit, campaign: Campaign, tmp_path: Path) -> None:
    result = _check(campaign, tmp_path, edit)
    assert _findings(result) == []


def test_a_scan_of_the_form_is_not_counted_as_a_photo(campaign: Campaign, tmp_path: Path) -> None:
    result = _check(campaign, tmp_path, _scan_of_the_form(f"{STAR_NAMES[0]}推荐表（盖章扫描件）.jpg"))
    (star,) = [s for s in result["stars"] if s["name"] == STAR_NAMES[0]]
    assert len(star["photos"]) == campaign.star.photos.min
    assert not any("扫描" in path for path in star["photos"])


def _truncate(rel: Callable[[Path], Path]) -> Edit:
    def edit(root: Path, _campaign: Campaign) -> None:
        path = rel(root)
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])

    return edit


@pytest.mark.parametrize(
    ("what", "rel"),
    [
        ("Word", lambda root: root / "百姓学习之星" / STAR_NAMES[0] / f"{STAR_NAMES[0]}推荐表.docx"),
        ("Excel", lambda root: root / REGISTER),
    ],
    ids=["docx", "xlsx"],
)
def test_a_truncated_office_file_is_named_as_what_was_sent(
    what: str, rel: Callable[[Path], Path], campaign: Campaign, tmp_path: Path
) -> None:
    result = _check(campaign, tmp_path, _truncate(rel))
    unreadable = [f for f in result["findings"] if f["code"] == "FILE_UNREADABLE"]
    (finding,) = unreadable
    assert f"{what} 文件已损坏或不完整" in finding["message_zh"]
    assert "压缩包" not in finding["message_zh"]
