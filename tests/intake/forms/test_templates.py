"""The blank forms, filled in by hand (python-docx/openpyxl writing into their blank cells), read back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from docx import Document
from openpyxl import load_workbook

from config import Campaign
from intake.forms.fields import PROJECT_FIELDS, STAR_FIELDS, normalise_label
from intake.forms.templates import write_templates
from intake.models import FileKind

STAR_VALUES = {
    "name": "张三",
    "gender": "男",
    "birth": "1965.03",
    "ethnicity": "汉族",
    "politics": "中共党员",
    "education": "本科",
    "id_number": "220102196503011234",
    "employer_title": "长春市南关区某社区 居民",
    "group": "社区居民",
    "phone": "13800000000",
    "email": "zhangsan@example.com",
    "address": "吉林省长春市南关区人民大街1号",
    "postcode": "130000",
    "honours": "吉林省优秀志愿者",
    "story": "张三坚持学习三十年。\n带动邻里读书。",
    "opinion": "同意推荐。",
    "intro": "坚持学习三十年。",
    "remarks": "事迹特别感人",
}
PROJECT_VALUES = {
    "name": "“书香南关”全民阅读推广行动",
    "organizer": "长春市南关区图书馆",
    "leader": "李四",
    "phone": "13900000000",
    "founded": "2015年3月",
    "people_per_year": "约3000人",
    "participations_per_year": "1.2万人次",
    "category": "社区教育",
    "online": "是",
    "activities": "读书会、讲座。",
    "measures": "经费保障。",
    "effects": "年服务三千人。",
    "intro": "全民阅读推广。",
    "opinion": "同意推荐。",
    "remarks": "特别受百姓喜爱",
}


def _fill_docx(path: Path, values: dict[str, str], specs: Any) -> None:
    labels = {normalise_label(s.label): s.key for s in specs if s.in_form}
    document = Document(str(path))
    for table in document.tables:
        for row in table.rows:
            cells = row.cells
            for i, cell in enumerate(cells):
                key = labels.get(normalise_label(cell.text))
                if key is None:
                    continue
                target = next(c for c in cells[i + 1 :] if c._tc is not cell._tc)
                target.text = values[key]
    for paragraph in document.paragraphs:
        if paragraph.text.startswith("推荐单位（盖章）："):
            paragraph.text = "推荐单位（盖章）：长春市教育局"
    document.save(str(path))


def _fill_xlsx(path: Path, values: dict[str, str], specs: Any) -> None:
    labels = {normalise_label(s.label): s.key for s in specs if s.in_register}
    workbook = load_workbook(path)
    ws = workbook.active
    header = next(r for r in range(1, 10) if ws.cell(row=r, column=1).value == "序号")
    for col in range(1, ws.max_column + 1):
        key = labels.get(normalise_label(str(ws.cell(row=header, column=col).value)))
        if key:
            ws.cell(row=header + 1, column=col, value=values[key])
    ws.cell(row=2, column=1, value="推荐单位（盖章）：长春市教育局")
    workbook.save(path)


def test_templates_are_written(tmp_path: Path, campaign: Campaign) -> None:
    paths = write_templates(tmp_path / "blank", campaign)
    assert [p.name for p in paths] == [
        "附表1 百姓学习之星推荐表.docx",
        "附表2 百姓学习之星推荐登记表.xlsx",
        "附表3 终身学习品牌项目推荐表.docx",
        "附表4 终身学习品牌项目推荐登记表.xlsx",
    ]
    assert all(p.stat().st_size > 0 for p in paths)


def test_blank_templates_read_as_empty_forms(tmp_path: Path, campaign: Campaign, read: Any) -> None:
    star_form, star_register, project_form, project_register = write_templates(tmp_path, campaign)
    (form,) = read(star_form, "docx").star_forms
    assert form.missing_labels == []
    assert form.fields.name is None and form.fields.story is None
    register = read(star_register, "xlsx")
    assert register.kind is FileKind.REGISTER_STARS
    assert register.registers[0].star_rows == []
    assert register.registers[0].missing_columns == []
    assert register.registers[0].unit_line is None
    assert read(project_form, "docx").project_forms[0].missing_labels == []
    assert read(project_register, "xlsx").registers[0].missing_columns == []


def test_filled_templates_read_back_exactly(tmp_path: Path, campaign: Campaign, read: Any) -> None:
    star_form, star_register, project_form, project_register = write_templates(tmp_path, campaign)
    _fill_docx(star_form, STAR_VALUES, STAR_FIELDS)
    _fill_xlsx(star_register, STAR_VALUES, STAR_FIELDS)
    _fill_docx(project_form, PROJECT_VALUES, PROJECT_FIELDS)
    _fill_xlsx(project_register, PROJECT_VALUES, PROJECT_FIELDS)

    form = read(star_form, "docx").star_forms[0]
    expected = {s.key: STAR_VALUES[s.key] for s in STAR_FIELDS if s.in_form}
    assert form.fields.model_dump(exclude_none=True, exclude={"birth_parsed", "unit_line"}) == expected
    assert form.fields.unit_line == "长春市教育局"

    (table,) = read(star_register, "xlsx").registers
    assert table.unit_line == "长春市教育局"
    (row,) = table.star_rows
    expected = {s.key: STAR_VALUES[s.key] for s in STAR_FIELDS if s.in_register}
    assert row.model_dump(exclude_none=True, exclude={"birth_parsed"}) == expected

    pform = read(project_form, "docx").project_forms[0]
    expected = {s.key: PROJECT_VALUES[s.key] for s in PROJECT_FIELDS if s.in_form}
    derived = {"founded_parsed", "people_per_year_n", "participations_per_year_n", "unit_line"}
    assert pform.fields.model_dump(exclude_none=True, exclude=derived) == expected
    assert (pform.fields.people_per_year_n, pform.fields.participations_per_year_n) == (3000, 12000)

    (ptable,) = read(project_register, "xlsx").registers
    (prow,) = ptable.project_rows
    expected = {s.key: PROJECT_VALUES[s.key] for s in PROJECT_FIELDS if s.in_register}
    assert prow.model_dump(exclude_none=True, exclude=derived) == expected
