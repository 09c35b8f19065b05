"""附表2/附表4 filled in the ways units fill them, read back by label."""

from __future__ import annotations

from typing import Any

import pytest

from intake.models import FileKind, YearMonth
from tests.support.forms import cached, register_xls, register_xlsx

STARS: list[dict[str, Any]] = [
    {
        "name": "金哲洙",
        "gender": "男",
        "birth": "1968.03",
        "ethnicity": "朝鲜族",
        "politics": "群众",
        "education": "中专",
        "employer_title": "延吉市公交公司 客服专员",
        "group": "从业人员",
        "phone": "13967686483",
        "intro": "坚持读书学习20余年。",
    },
    {
        "name": "朴英子",
        "gender": "女",
        "birth": {"date": "1985-01-01"},
        "ethnicity": "蒙古族",
        "politics": "共青团员",
        "education": "中专",
        "employer_title": "延边石岘白麓纸业 焊工班组长",
        "group": "技术能手",
        "phone": 18997472321,
        "intro": "攻克多项技术难题。",
        "remarks": "事迹特别感人",
    },
    {"name": "丁卫东", "gender": "男", "birth": 1984.1, "employer_title": "网店店主", "phone": 13943844100},
    {"name": "乔长林", "gender": "男", "birth": "1965年11月", "employer_title": "网格员", "phone": "18573871527"},
    {"name": "宋丽萍", "gender": "女", "birth": "196503", "employer_title": "养殖户"},
    {"name": "邓秀芝", "gender": "女", "birth": "1975-2", "employer_title": "个体经营者", "phone": "13985827356"},
]
BIRTHS = [(1968, 3), (1985, 1), (1984, 1), (1965, 11), (1965, 3), (1975, 2)]

PROJECTS: list[dict[str, Any]] = [
    {
        "name": "“海兰江畔”农民夜校",
        "organizer": "龙井市职业教育中心",
        "leader": "钟丽萍",
        "phone": "18640973480",
        "founded": "2015-1",
        "people_per_year": "2,000",
        "participations_per_year": "1.2万人次",
        "category": "农民继续教育",
        "intro": "面向新型职业农民。",
    },
    {
        "name": "“长鼓舞”非遗文化传承学习项目",
        "organizer": "延边朝鲜族自治州群众艺术馆",
        "leader": "岳长林",
        "phone": 15831258427,
        "founded": {"date": "2011-03-01"},
        "people_per_year": "约3000人",
        "participations_per_year": "约2万人次",
        "category": "社区教育",
        "remarks": "特别受百姓喜爱",
    },
    {
        "name": "“阿里郎”老年大学",
        "organizer": "延边朝鲜族自治州老年大学",
        "leader": "祁长林",
        "phone": "13385805222",
        "founded": "2011.09",
        "people_per_year": 5000,
        "participations_per_year": "6000余人次",
    },
]


def _check_stars(result: Any, unit: str | None = "延边朝鲜族自治州教育局") -> None:
    assert result.kind is FileKind.REGISTER_STARS
    assert not result.problems
    (table,) = result.registers
    assert table.kind is FileKind.REGISTER_STARS
    assert table.unit_line == unit
    assert table.missing_columns == []
    assert [r.name for r in table.star_rows] == [p["name"] for p in STARS]
    assert [(r.birth_parsed.year, r.birth_parsed.month) for r in table.star_rows] == BIRTHS
    first, second, third = table.star_rows[:3]
    assert first.model_dump(exclude_none=True, exclude={"birth_parsed"}) == STARS[0]
    assert second.phone == "18997472321"
    assert second.birth == "1985-01"
    assert second.remarks == "事迹特别感人"
    assert third.birth == "1984.1"  # as written: the 附表1 tells January from October
    assert third.phone == "13943844100"
    assert table.star_rows[4].phone is None


STAR_LAYOUTS: dict[str, dict[str, Any]] = {
    "sample": {},
    "single_row_header": {"two_row_header": False},
    "unit_and_date_in_one_cell": {"unit_style": "with_date"},
    "unit_in_its_own_cell": {"unit_style": "split"},
    "no_title_blank_rows_above": {"title": False, "leading_blank_rows": 2},
    "total_and_footer": {"total_row": True, "footer": "填表人：王老师\u3000\u3000联系电话：0433-1234567"},
    "column_numbers_row": {"numbered_header_row": True, "two_row_header": False},
    "labels_spelled_otherwise": {
        "two_row_header": False,
        "labels": {
            "name": "姓 名*",
            "birth": "出生日期（年月）",
            "employer_title": "工作单位及职务",
            "phone": "手机号码",
            "intro": "主要事迹简介",
            "education": "学历学位",
        },
    },
    "columns_reordered_with_extras": {
        "two_row_header": False,
        "order": [
            "seq",
            "name",
            "phone",
            "employer_title",
            "gender",
            "birth",
            "group",
            "ethnicity",
            "politics",
            "education",
            "remarks",
            "intro",
        ],
        "extra_columns": ["身份证号", "推荐理由"],
    },
}


@pytest.mark.parametrize("layout", list(STAR_LAYOUTS), ids=list(STAR_LAYOUTS))
def test_star_register_xlsx(layout: str, read: Any) -> None:
    path = cached(register_xlsx, ".xlsx", kind="stars", rows=STARS, **STAR_LAYOUTS[layout])
    _check_stars(read(path, "xlsx"))


@pytest.mark.parametrize("layout", ["sample", "total_and_footer", "unit_in_its_own_cell"])
def test_star_register_xls(layout: str, read: Any) -> None:
    path = cached(register_xls, ".xls", kind="stars", rows=STARS, **STAR_LAYOUTS[layout])
    _check_stars(read(path, "xls"))


def test_register_on_a_second_sheet(read: Any) -> None:
    path = cached(register_xlsx, ".xlsx", kind="stars", rows=STARS, sheet_before=True)
    _check_stars(read(path, "xlsx"))


def test_register_without_unit_line(read: Any) -> None:
    path = cached(register_xlsx, ".xlsx", kind="stars", rows=STARS, unit_style="none")
    _check_stars(read(path, "xlsx"), unit=None)


def test_missing_required_columns_are_named(read: Any) -> None:
    order = ["seq", "name", "gender", "ethnicity", "employer_title", "group", "intro", "remarks"]
    path = cached(register_xlsx, ".xlsx", kind="stars", rows=STARS, order=order, two_row_header=False)
    (table,) = read(path, "xlsx").registers
    assert table.missing_columns == ["出生年月", "联系电话"]
    assert len(table.star_rows) == len(STARS)


@pytest.mark.parametrize("writer", [register_xlsx, register_xls], ids=["xlsx", "xls"])
@pytest.mark.parametrize("two_rows", [True, False], ids=["merged_scale_header", "flat_header"])
def test_project_register(writer: Any, two_rows: bool, read: Any) -> None:
    suffix = ".xlsx" if writer is register_xlsx else ".xls"
    path = cached(writer, suffix, kind="projects", rows=PROJECTS, two_row_header=two_rows, total_row=True)
    result = read(path, suffix[1:])
    assert result.kind is FileKind.REGISTER_PROJECTS
    (table,) = result.registers
    assert table.unit_line == "延边朝鲜族自治州教育局"
    assert table.missing_columns == []
    rows = table.project_rows
    assert [r.name for r in rows] == [p["name"] for p in PROJECTS]
    assert [(r.people_per_year_n, r.participations_per_year_n) for r in rows] == [
        (2000, 12000),
        (3000, 20000),
        (5000, 6000),
    ]
    assert [r.founded_parsed for r in rows] == [
        YearMonth(year=2015, month=1),
        YearMonth(year=2011, month=3),
        YearMonth(year=2011, month=9),
    ]
    assert rows[0].people_per_year == "2,000"
    assert rows[1].phone == "15831258427"
    assert rows[1].remarks == "特别受百姓喜爱"
    assert rows[0].category == "农民继续教育"


def test_project_register_without_any_scale_column(read: Any) -> None:
    order = ["seq", "name", "organizer", "leader", "phone", "founded", "category", "intro", "remarks"]
    path = cached(register_xlsx, ".xlsx", kind="projects", rows=PROJECTS, order=order)
    (table,) = read(path, "xlsx").registers
    assert table.missing_columns == ["年参与人数/年参与人次"]


def test_a_sheet_that_is_no_register(read: Any, tmp_path: Any) -> None:
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.active.append(["经费", "金额"])
    workbook.active.append(["场地", 3000])
    path = tmp_path / "预算.xlsx"
    workbook.save(path)
    result = read(path, "xlsx")
    assert result.kind is FileKind.DOCUMENT
    assert result.registers == []
    assert result.problems == []


@pytest.mark.parametrize("total_in", ["seq", "name"])
def test_total_and_footer_words_inside_a_nominee_row_keep_the_row(total_in: str, read: Any) -> None:
    """A story "总计参加培训30余次" or a remark "注：往年曾推荐" is a nominee's text, not a total or footer."""
    rows = [
        {**STARS[0], "intro": "总计参加培训30余次，带动村民学习"},
        {**STARS[1], "remarks": "注：往年曾推荐"},
        {**STARS[2], "intro": "合计服务居民上万人次"},
        STARS[3],
    ]
    path = cached(
        register_xlsx,
        ".xlsx",
        kind="stars",
        rows=rows,
        total_row=True,
        total_in=total_in,
        footer="填表人：王老师　联系电话：0433-1234567",
    )
    (table,) = read(path, "xlsx").registers
    assert [r.name for r in table.star_rows] == [r["name"] for r in rows]
    assert table.star_rows[0].intro == "总计参加培训30余次，带动村民学习"
    assert table.star_rows[1].remarks == "注：往年曾推荐"
