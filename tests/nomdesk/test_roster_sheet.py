"""The roster as the experts open it in Excel: dates and head counts they can sort and filter (what
the unit wrote kept beside them when it said more: "约3000人", "2015年3月左右"), columns wide
enough to read, long cells wrapped, the header frozen and filtered, and every file a link that
opens it in the exported materials tree. Read back with openpyxl from a package the real desk
took in (a real zip, real forms and registers)."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from openpyxl.workbook import Workbook as OpenWorkbook
from openpyxl.worksheet.worksheet import Worksheet

from config.campaign import Campaign
from config.settings import Settings
from intake.models import YearMonth
from intake.sheet_layout import MAX_WIDTH, finish_sheet, safe_link_target, text_width
from nomdesk.desk import Desk
from nomdesk.exports import PROJECTS_DIR, ROSTER_FILE, STARS_DIR, UNIT_PROBLEMS, export_materials, roster_xlsx
from nomdesk.roster_values import count_value, date_value
from schedule.status import UnitStatus, collect_status
from storage.repo import Store
from tests.support.packages import YANBIAN, build_eml, complete_city_package

DEFAULT_WIDTH = 8.43  # Excel's width of a column nobody set
LONG_INTRO = "扎根社区二十年，坚持读书学习，带动居民组建读书会、编写社区学习手册，学以致用成效显著。" * 3


@pytest.fixture(scope="module")
def rough(campaign: Campaign) -> dict[str, str]:
    """What 延边州 wrote for its first project: a founding month it only roughly knows."""
    year = campaign.deadline.year - campaign.project.min_age_years - 3
    return {"founded": f"{year}年3月左右", "founded_year": str(year)}


@pytest.fixture(scope="module")
def desk_statuses(
    tmp_path_factory: pytest.TempPathFactory, campaign: Campaign, rough: dict[str, str]
) -> Iterator[tuple[Store, list[UnitStatus]]]:
    data = tmp_path_factory.mktemp("roster") / "var"
    spec = complete_city_package(campaign)
    spec.projects[0].fields["founded"] = rough["founded"]
    spec.stars[0].row["intro"] = LONG_INTRO
    with Store.open(data) as store:
        store.directory.sync_units(campaign)
        desk = Desk(Settings(data_dir=data), campaign, store)
        desk.ingest_file(build_eml(spec))
        desk.process_pending()
        statuses = [s for s in collect_status(store, campaign) if s.dossier is not None]
        assert [s.name for s in statuses] == [YANBIAN]
        yield store, statuses


@pytest.fixture(scope="module")
def exported(desk_statuses: tuple[Store, list[UnitStatus]], tmp_path_factory: pytest.TempPathFactory) -> Path:
    store, statuses = desk_statuses
    tree = tmp_path_factory.mktemp("tree")
    export_materials(store, statuses, tree)
    return tree


@pytest.fixture(scope="module")
def book(exported: Path) -> OpenWorkbook:
    """The roster the materials export wrote at the root of its tree."""
    return load_workbook(exported / ROSTER_FILE)


def columns(ws: Worksheet) -> dict[str, int]:
    return {c.value: c.column for c in ws[1]}


def test_dates_and_head_counts_are_values_and_the_written_text_is_kept_beside_them(
    book: OpenWorkbook, rough: dict[str, str]
) -> None:
    stars = book[STARS_DIR]
    birth = columns(stars)["出生年月"]
    births = [stars.cell(r, birth) for r in range(2, stars.max_row + 1)]
    assert births and all(isinstance(c.value, dt.datetime) and c.number_format == "yyyy-mm" for c in births)
    assert {c.value.month for c in births} == {3}  # "1968年3月" and the like: March
    assert all(stars.cell(c.row, birth + 1).value is None for c in births)  # plainly written: no note
    assert stars.cell(1, birth + 1).value == "出生年月原文"

    projects = book[PROJECTS_DIR]
    at = columns(projects)
    first = 2
    founded = projects.cell(first, at["创建时间"])
    assert founded.value == dt.datetime(int(rough["founded_year"]), 3, 1) and founded.number_format == "yyyy-mm"
    assert projects.cell(first, at["创建时间原文"]).value == rough["founded"]
    assert projects.cell(first + 1, at["创建时间原文"]).value is None  # "2015年3月": plain, no note
    for row in range(first, projects.max_row + 1):
        people, note = projects.cell(row, at["年参与人数"]).value, projects.cell(row, at["年参与人数原文"]).value
        assert type(people) is int and note == f"约{people}人"  # "约3000人": 3000, the words kept
        visits = projects.cell(row, at["年参与人次"]).value
        assert type(visits) is int and projects.cell(row, at["年参与人次原文"]).value is None  # "9600人次": plain
    # They sort as numbers and dates: the largest first is the largest, not the longest text.
    counts = [projects.cell(r, at["年参与人数"]).value for r in range(first, projects.max_row + 1)]
    assert sorted(counts) == sorted(int(c) for c in counts)


def test_every_sheet_is_fitted_wrapped_frozen_and_filtered(book: OpenWorkbook) -> None:
    for ws in (book[STARS_DIR], book[PROJECTS_DIR], book[UNIT_PROBLEMS]):
        last = get_column_letter(ws.max_column)
        assert ws.freeze_panes in ("A2", "C2"), ws.title  # the header row stays (and 序号, 姓名 on the nominees')
        assert ws.auto_filter.ref == f"A1:{last}{ws.max_row}", ws.title
    stars = book[STARS_DIR]
    at = columns(stars)
    width = {name: stars.column_dimensions[get_column_letter(col)].width for name, col in at.items()}
    assert width["序号"] < 10 < DEFAULT_WIDTH + 2 < width["推荐单位"]  # "延边朝鲜族自治州教育局": 22 columns
    intros = [stars.cell(r, at["事迹简介"]).value for r in range(2, stars.max_row + 1)]
    assert LONG_INTRO in intros and width["事迹简介"] == MAX_WIDTH
    assert width["出生年月"] >= len("yyyy-mm") and all(8 <= w <= MAX_WIDTH for w in width.values())
    for row in stars.iter_rows(min_row=2):  # a cell too long for the widest column wraps, others do not
        for cell in row:
            long = isinstance(cell.value, str) and (text_width(cell.value) + 2 > MAX_WIDTH or "\n" in cell.value)
            assert bool(cell.alignment.wrap_text) == long, cell.coordinate
    assert stars.cell(2, at["事迹简介"]).alignment.wrap_text  # the long one


def test_every_file_is_a_link_into_the_exported_tree(book: OpenWorkbook, exported: Path) -> None:
    checked = 0
    for ws in (book[STARS_DIR], book[PROJECTS_DIR]):
        at = columns(ws)
        file_columns = [col for name, col in at.items() if name.startswith("材料") and name[2:].isdigit()]
        assert file_columns
        for row in range(2, ws.max_row + 1):
            folder = ws.cell(row, at["材料路径"])
            assert folder.hyperlink is not None and (exported / folder.hyperlink.target).is_dir()
            assert folder.value == folder.hyperlink.target and folder.data_type == "s"
            for col in file_columns:
                cell = ws.cell(row, col)
                if cell.value is None:
                    continue
                target = cell.hyperlink.target
                assert target == f"{folder.value}/{cell.value}" and not target.startswith(("/", "."))
                assert (exported / target).is_file() and cell.data_type == "s"  # a link, never a formula
                checked += 1
    assert checked >= 20


def test_a_roster_without_the_store_has_no_links(desk_statuses: tuple[Store, list[UnitStatus]]) -> None:
    """Without the store there is no tree: no folder, no file columns, nothing pointing nowhere."""
    _, statuses = desk_statuses
    ws = load_workbook(io.BytesIO(roster_xlsx(None, statuses)))[STARS_DIR]
    assert "材料1" not in columns(ws) and all(c.hyperlink is None for row in ws.iter_rows() for c in row)


@pytest.mark.parametrize(
    ("written", "parsed", "value", "shown", "note"),
    [
        ("1965.03", YearMonth(year=1965, month=3), dt.date(1965, 3, 1), "yyyy-mm", None),
        ("2019-08-01", YearMonth(year=2019, month=8), dt.date(2019, 8, 1), "yyyy-mm", None),
        ("2019年8月31日", YearMonth(year=2019, month=8, day=31), dt.date(2019, 8, 31), "yyyy-mm-dd", None),
        ("2015年", YearMonth(year=2015), dt.date(2015, 1, 1), "yyyy", None),
        ("2015年上半年", YearMonth(year=2015), dt.date(2015, 1, 1), "yyyy", "2015年上半年"),
        ("1984.1", YearMonth(year=1984, month=10), dt.date(1984, 10, 1), "yyyy-mm", "1984.1"),  # October per 附表1
        ("不详", None, "不详", None, None),  # unread: the words themselves, the rule says what is wrong
    ],
)
def test_a_written_date_becomes_a_date_cell(
    written: str, parsed: YearMonth | None, value: object, shown: str | None, note: str | None
) -> None:
    cell = date_value(written, parsed)
    assert (cell.value, cell.number_format, cell.note) == (value, shown, note)


@pytest.mark.parametrize(
    ("written", "parsed", "note"),
    [
        ("3000", 3000, None),
        ("3,000人", 3000, None),
        ("9600人次", 9600, None),
        ("约3000人", 3000, "约3000人"),
        ("1.2万人次", 12000, "1.2万人次"),
        ("6000余人", 6000, "6000余人"),
    ],
)
def test_a_written_count_becomes_a_number(written: str, parsed: int, note: str | None) -> None:
    assert (count_value(written, parsed).value, count_value(written, parsed).note) == (parsed, note)


def test_a_link_stays_inside_the_tree() -> None:
    path = "延边州/百姓学习之星/王芳/照片01_a b#1.jpg"
    assert safe_link_target(path) == "延边州/百姓学习之星/王芳/照片01_a b%231.jpg"
    for bad in ("../x.jpg", "a/../../x", "/etc/passwd", "C:\\x.jpg", "http://evil.example/x", "file:///x", "a//b", ""):
        assert safe_link_target(bad) is None, bad


def test_widths_count_chinese_double_and_stop_at_the_cap() -> None:
    assert text_width("王芳ab") == 6 and text_width("ＡＢ") == 4 and text_width("一行\n两行两行") == 8
    wb = OpenWorkbook()
    ws = wb.active
    ws.append(["序号", "说明"])
    ws.append([1, "很长的说明" * 40])
    finish_sheet(ws)
    assert ws.column_dimensions["A"].width == 8 and ws.column_dimensions["B"].width == MAX_WIDTH
    assert ws["B2"].alignment.wrap_text and ws.freeze_panes == "A2" and ws.auto_filter.ref == "A1:B2"
