"""Cell values as units type them: text, year-months and head counts.

Excel hands back floats for phone numbers and "1984.10" alike, datetimes for real dates
and free text for everything else; these helpers turn them into what the models hold.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from decimal import Decimal, InvalidOperation
from typing import Any

from intake.models import ProjectEntry, ProjectFields, StarEntry, StarFields, YearMonth

MIN_YEAR = 1900
MAX_YEAR = 2100
# Excel serial day numbers of 1927-10-14 .. 2173-10-14: a five-digit integer in a date
# column is a date that lost its number format, never a year or a year-month.
_SERIAL_RANGE = (10000, 99999)


def cell_text(value: Any) -> str | None:
    """A cell's value as the text a person reads in it; None when empty.

    Integral floats lose their ".0" (phone numbers, counts), other floats keep the
    shortest text that reads back to them ("1984.1"), dates read "1971-08"
    (first of the month) or "1971-08-15".
    """
    if value is None:
        return None
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0):
            value = value.date()
        else:
            return value.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, dt.date):
        return f"{value:%Y-%m}" if value.day == 1 else value.isoformat()
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return None
        if value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, int):
        return str(value)
    text = str(value).replace("\r\n", "\n").replace("\r", "\n").strip()
    return text or None


_YM = re.compile(
    r"^(?P<y>\d{4})\s*(?:[.\-/年、,，．]\s*(?P<m>\d{1,2})\s*(?:月份?)?"
    r"(?:\s*[.\-/]?\s*(?P<d>\d{1,2})\s*[日号]?)?)?\s*(?:年)?$"
)
# "约2015年3月", "2015年3月左右": the month as written (the roster keeps the words in its 原文 note).
_APPROXIMATELY = re.compile(r"(?:大约|约)?(?P<core>.*?)(?:左右|前后)?")
_COMPACT = re.compile(r"^(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})?$")
# A part of a year as units write a founding date they only roughly know ("2015年初", "2015年底",
# "2015年上半年", "2015年春"): read as the year alone, like "2015年".
_YEAR_PART = re.compile(r"^(?P<y>\d{4})年?(?:年?[初底末中]|[上下]半年|[春夏秋冬]季?|前后|左右)$")


def _make(year: int, month: int | None, day: int | None = None) -> YearMonth | None:
    if not MIN_YEAR <= year <= MAX_YEAR:
        return None
    if month is not None and not 1 <= month <= 12:
        return None
    if day is not None:
        try:
            dt.date(year, month or 1, day)
        except ValueError:
            day = None  # "2019.02.30": the month still stands
    # the 1st starts the month anyway: "2019-08-01" and "2019.08" are the same start
    return YearMonth(year=year, month=month, day=day if month and day and day > 1 else None)


def _from_serial(serial: float) -> YearMonth | None:
    day = dt.date(1899, 12, 30) + dt.timedelta(days=int(serial))
    return _make(day.year, day.month, day.day)


def parse_year_month(value: Any) -> YearMonth | None:
    """Year and month (and the day, when a full date is written) of a birth or founding date.

    Reads Excel dates, "1965.03", "1965年3月", "196503", "1965-3", "1965/3", "1965.3",
    "2019-08-31", "2019年8月31日", "1965年", "2015年初"/"2015年上半年" (the year), "2015年3月左右"
    and "约2015年3月" (the month), 1965 and Excel
    serial numbers. The float 1984.1 reads as January; see `year_month_candidates` for the
    October reading (the dossier takes it when the person's 附表1 says so).
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, dt.datetime | dt.date):
        return _make(value.year, value.month, value.day)
    if isinstance(value, int | float):
        if isinstance(value, float) and not value.is_integer():
            return parse_year_month(repr(value))
        number = int(value)
        if _SERIAL_RANGE[0] <= number <= _SERIAL_RANGE[1]:
            return _from_serial(number)
        return parse_year_month(str(number))
    text = unicodedata.normalize("NFKC", str(value)).strip()
    text = re.sub(r"\s+", "", text)
    if not text:
        return None
    year_part = _YEAR_PART.match(text)
    if year_part:
        return _make(int(year_part["y"]), None)
    approximately = _APPROXIMATELY.fullmatch(text)
    text = approximately["core"] if approximately else text
    match = _COMPACT.match(text) or _YM.match(text)
    if match:
        month, day = match["m"], match["d"]
        return _make(int(match["y"]), int(month) if month else None, int(day) if day else None)
    if text.isdigit() and _SERIAL_RANGE[0] <= int(text) <= _SERIAL_RANGE[1]:
        return _from_serial(int(text))
    return None


_AMBIGUOUS_TENTH = re.compile(r"^\s*(\d{4})\.1\s*$")


def year_month_candidates(raw: Any) -> list[YearMonth]:
    """Every month a written date may mean, the plain reading first.

    Excel stores "1984.10" typed into a number cell as 1984.1, so "1984.1" may be
    January or October; a validator compares both with the person's 附表1.
    """
    first = parse_year_month(raw)
    if first is None:
        return []
    text = repr(raw) if isinstance(raw, float) else str(raw)
    if _AMBIGUOUS_TENTH.match(text):
        return [first, YearMonth(year=first.year, month=10)]
    return [first]


_NUMBER = re.compile(r"(\d+(?:[,，]\d{3})*(?:\.\d+)?)\s*(万|千|百)?")
_UNITS = {"万": 10000, "千": 1000, "百": 100, None: 1}


def parse_count(value: Any) -> int | None:
    """A head count as units write it: "约3000人", "2,000", "6000余人次", "1.2万人次", 9600.0."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return int(value) if value == value and value >= 0 else None
    text = unicodedata.normalize("NFKC", str(value))
    match = _NUMBER.search(text)
    if not match:
        return None
    try:
        number = Decimal(match[1].replace(",", "").replace("，", ""))
    except InvalidOperation:
        return None
    return int(number * _UNITS[match[2]])


def clean_inline(text: str | None) -> str | None:
    """Text with its whitespace (full-width spaces included) trimmed; None when nothing is left."""
    if text is None:
        return None
    text = text.strip().strip("\u3000").strip()
    return text or None


def resolve_tenth_month(entry: StarEntry | ProjectEntry) -> None:
    """Read the table's 1984.1 as October when the nominee's own form says 1984.10 (FORMS.md).

    Excel keeps "1984.10" typed into a number cell as the number 1984.1, which reads as
    January; the form (a Word file) keeps what was typed, so it tells the two apart. The
    table's row is corrected in place, so every rule and the stored nominee see the same month.
    """
    row, form = entry.row, entry.form
    if row is None or form is None:
        return
    if isinstance(row, StarFields) and isinstance(form.fields, StarFields):
        row.birth_parsed = _the_month_meant(row.birth, row.birth_parsed, form.fields.birth_parsed)
    elif isinstance(row, ProjectFields) and isinstance(form.fields, ProjectFields):
        row.founded_parsed = _the_month_meant(row.founded, row.founded_parsed, form.fields.founded_parsed)


def _the_month_meant(written: str | None, parsed: YearMonth | None, on_form: YearMonth | None) -> YearMonth | None:
    if written is None or on_form is None:
        return parsed
    candidates = year_month_candidates(written)
    return on_form if len(candidates) > 1 and on_form in candidates else parsed
