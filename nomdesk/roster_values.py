"""The roster's dates and head counts as values a spreadsheet sorts and filters, with what the unit
wrote kept beside them when it said more than the value.

The experts sort the projects by 创建时间 and filter 年参与人数 > 1000; a text column sorts
"2015.3" after "2015.10" and "约3000人" before "500". The intake already read each written
date and count (intake.forms.values: `birth_parsed`, `founded_parsed`, `people_per_year_n`…);
the roster writes those as a date and an int. When the unit wrote more than the value says
("约3000人", "2015年3月左右", "1.2万人次", "1984.1" read as October) the written text goes into
the column's 原文 note, so nothing the unit wrote is lost; a text the intake could not read stays
in the cell itself, as the unit wrote it (its rule finding says what is wrong with it).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

from intake.models import YearMonth

NOTE_SUFFIX = "原文"
# the parsed field beside each written one (intake.models StarFields / ProjectFields)
PARSED = {
    "birth": "birth_parsed",
    "founded": "founded_parsed",
    "people_per_year": "people_per_year_n",
    "participations_per_year": "participations_per_year_n",
}
# A date written plainly: "1965", "1965年", "1965.03", "1965-3-8", "1965/03", "1965年3月", "1965年3月8日".
_PLAIN_DATE = re.compile(r"\d{4}年?|\d{4}[.\-/]\d{1,2}(?:[.\-/]\d{1,2})?|\d{4}年\d{1,2}月(?:\d{1,2}日)?")
# A count written plainly: "3000", "3,000", "3000人", "9600人次".
_PLAIN_COUNT = re.compile(r"\d+(?:人次|人|次)?")


@dataclass(frozen=True)
class Typed:
    """A roster cell: its value, the number format a date needs, and the note (the written text
    when it said more than the value; None otherwise)."""

    value: object
    number_format: str | None = None
    note: str | None = None


def _squeezed(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def date_value(written: str | None, parsed: YearMonth | None) -> Typed:
    """A date cell shown as precisely as it was written (yyyy, yyyy-mm or yyyy-mm-dd)."""
    if parsed is None:
        return Typed(written)
    value = dt.date(parsed.year, parsed.month or 1, parsed.day or 1)
    number_format = "yyyy-mm-dd" if parsed.day else "yyyy-mm" if parsed.month else "yyyy"
    return Typed(value, number_format, written if written and _rough_date(written, parsed) else None)


def _rough_date(written: str, parsed: YearMonth) -> bool:
    """The written date says more than, or other than, the value: a word beside it ("左右",
    "上半年"), or numbers that are not the value's (1984.1 read as October from the 附表1)."""
    text = _squeezed(written)
    if not _PLAIN_DATE.fullmatch(text):
        return True
    numbers = [int(n) for n in re.findall(r"\d+", text)]
    if len(numbers) == 3 and parsed.day is None and numbers[2] == 1:
        numbers.pop()  # "2019-08-01": the 1st starts the month, the value has no day
    return numbers != [n for n in (parsed.year, parsed.month, parsed.day) if n is not None]


def count_value(written: str | None, parsed: int | None) -> Typed:
    """A head count as an int; the written text noted when it was more than digits ("约3000人")."""
    if parsed is None:
        return Typed(written)
    plain = written is None or _PLAIN_COUNT.fullmatch(_squeezed(written).replace(",", ""))
    return Typed(parsed, None, None if plain else written)


def typed(key: str, written: str | None, parsed: object) -> Typed:
    """The roster cell for field `key` (one of PARSED)."""
    if key in ("birth", "founded"):
        return date_value(written, parsed if isinstance(parsed, YearMonth) else None)
    return count_value(written, parsed if isinstance(parsed, int) else None)
