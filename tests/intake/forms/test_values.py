from __future__ import annotations

import datetime as dt

import pytest

from intake.forms.values import cell_text, parse_count, parse_year_month, year_month_candidates
from intake.models import YearMonth


@pytest.mark.parametrize(
    ("raw", "year", "month"),
    [
        (dt.datetime(1971, 8, 1), 1971, 8),
        (dt.date(1965, 3, 15), 1965, 3),
        ("1965.03", 1965, 3),
        ("1965年3月", 1965, 3),
        ("1976年03月", 1976, 3),
        ("196503", 1965, 3),
        ("1965-3", 1965, 3),
        ("1965/3", 1965, 3),
        ("1965.3", 1965, 3),
        ("１９６５．０３", 1965, 3),
        ("1965年3月15日", 1965, 3),
        ("1965.03.15", 1965, 3),
        (1984.1, 1984, 1),
        (1965.03, 1965, 3),
        (1984.12, 1984, 12),
        (196503, 1965, 3),
        ("1965年", 1965, None),
        (1965, 1965, None),
        (26000, 1971, 3),  # an Excel serial day that lost its date format
    ],
)
def test_year_month_as_units_write_it(raw: object, year: int, month: int | None) -> None:
    parsed = parse_year_month(raw)
    assert parsed is not None and (parsed.year, parsed.month) == (year, month)


@pytest.mark.parametrize(
    ("raw", "day"),
    [
        ("2019-08-31", 31),
        ("2019年8月31日", 31),
        ("2019.08.31", 31),
        ("20190831", 31),
        (dt.datetime(2019, 8, 31), 31),
        (43708, 31),  # the Excel serial of 2019-08-31
        ("2019-08-01", None),  # the 1st starts the month anyway
        (dt.datetime(2019, 8, 1), None),
        ("2019.08", None),
        ("2019-02-30", None),  # no such day: the month stands
    ],
)
def test_a_full_date_keeps_its_day(raw: object, day: int | None) -> None:
    parsed = parse_year_month(raw)
    assert parsed is not None and parsed.day == day


@pytest.mark.parametrize(
    "raw",
    ["2015年初", "2015年底", "2015年上半年", "2015年下半年", "2015年末", "2015年年初", "2015年春", "２０１５年初"],
)
def test_a_part_of_a_year_reads_as_the_year(raw: str) -> None:
    """A founding date units only roughly know is the year alone, like "2015年" (not unreadable)."""
    assert parse_year_month(raw) == YearMonth(year=2015)


@pytest.mark.parametrize("raw", ["2015年3月左右", "约2015年3月", "大约2015.3", "2015年3月前后"])
def test_an_approximate_month_reads_as_the_month(raw: str) -> None:
    """ "About March 2015" is March 2015 (the roster keeps the words in its 原文 note)."""
    assert parse_year_month(raw) == YearMonth(year=2015, month=3)


@pytest.mark.parametrize("raw", [None, "", "不详", "约", "1965.13", "13/1965", "abc1965"])
def test_year_month_that_is_no_date(raw: object) -> None:
    assert parse_year_month(raw) is None


def test_the_float_that_lost_its_zero_has_two_readings() -> None:
    assert year_month_candidates(1984.1) == [YearMonth(year=1984, month=1), YearMonth(year=1984, month=10)]
    assert year_month_candidates("1984.1") == [YearMonth(year=1984, month=1), YearMonth(year=1984, month=10)]
    assert year_month_candidates("1984.10") == [YearMonth(year=1984, month=10)]
    assert year_month_candidates("1984年1月") == [YearMonth(year=1984, month=1)]
    assert year_month_candidates("不详") == []


@pytest.mark.parametrize(
    ("raw", "count"),
    [
        ("约3000人", 3000),
        ("2,000", 2000),
        ("6000余人次", 6000),
        ("1.2万人次", 12000),
        ("2万", 20000),
        ("约2万人次", 20000),
        ("3200余人", 3200),
        ("９，６００", 9600),
        (9600.0, 9600),
        (2500, 2500),
        ("不详", None),
        (None, None),
    ],
)
def test_counts_as_units_write_them(raw: object, count: int | None) -> None:
    assert parse_count(raw) == count


def test_cell_text_reads_like_the_screen() -> None:
    assert cell_text(18997472321.0) == "18997472321"
    assert cell_text(1984.1) == "1984.1"
    assert cell_text(dt.datetime(1971, 8, 1)) == "1971-08"
    assert cell_text("  张三\u3000") == "张三"
    assert cell_text("   ") is None
    assert cell_text(None) is None
