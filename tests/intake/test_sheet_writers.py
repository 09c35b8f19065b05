"""Every spreadsheet the desk writes, fed what a hostile unit writes, shows it as text.

WRITERS lists every module that makes a workbook (or a CSV), each with a way to feed it the
texts of tests/support/hostile_cells.py; `test_every_module_that_writes_a_sheet_is_listed`
finds them in the source, so a new writer is caught until it is listed here (and so checked).
"""

from __future__ import annotations

import ast
import dataclasses
import datetime as dt
import io
from collections.abc import Callable
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from config.campaign import Campaign
from intake.contact_sheet import ContactRow, contacts_template_xlsx, contacts_xlsx
from intake.forms.templates import write_templates
from intake.models import Dossier
from nomdesk.exports import PROJECTS_DIR, STARS_DIR, UNIT_PROBLEMS, roster_xlsx
from schedule.digest import build_digest, digest_xlsx
from schedule.status import UnitStatus
from storage.models import ContactView
from tests.support.dossiers import city_dossier, rename_project, rename_star, set_project_fields, set_star_fields
from tests.support.hostile_cells import BELL, BELL_SHOWN, HOSTILE, column_values, formula_problems
from validators import check_dossier

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("config", "intake", "validators", "storage", "notify", "bot", "schedule", "nomdesk", "web")
STAR_TEXT_FIELDS = ("gender", "birth", "ethnicity", "politics", "education", "employer_title", "group", "phone")
PROJECT_TEXT_FIELDS = ("organizer", "leader", "phone", "founded", "people_per_year", "category")
NOW = dt.datetime(2021, 8, 28, 8, 0, tzinfo=dt.UTC)


def hostile_dossier(campaign: Campaign) -> Dossier:
    """A complete city dossier whose nominees' names and every text the unit wrote in the tables
    and forms are the hostile texts, in turn; one remark carries a control character."""
    dossier = city_dossier(campaign, exemplar_star=True, exemplar_project=True)
    for i in range(len(dossier.stars)):
        rename_star(dossier, i, HOSTILE[i % len(HOSTILE)])
        texts = {key: HOSTILE[(i + k + 1) % len(HOSTILE)] for k, key in enumerate(STAR_TEXT_FIELDS)}
        set_star_fields(dossier, i, intro=HOSTILE[(i + 3) % len(HOSTILE)], remarks=BELL, **texts)
    for i in range(len(dossier.projects)):
        rename_project(dossier, i, HOSTILE[(i + 2) % len(HOSTILE)])
        texts = {key: HOSTILE[(i + k + 4) % len(HOSTILE)] for k, key in enumerate(PROJECT_TEXT_FIELDS)}
        set_project_fields(dossier, i, remarks=HOSTILE[i % len(HOSTILE)], **texts)
    return dossier


def hostile_statuses(campaign: Campaign) -> list[UnitStatus]:
    """Units as the desk sees them: the first sent the hostile dossier (the rules' findings quote
    it), the others nothing; each unit's one contact is named with one of the hostile texts."""
    dossier = hostile_dossier(campaign)
    units = campaign.units[: len(HOSTILE)]
    statuses = [
        UnitStatus(
            name=unit.name,
            kind=unit.kind,
            known=True,
            contacts=[ContactView(id=n, unit_name=unit.name, name=HOSTILE[n], emails=[f"c{n}@example.cn"])],
        )
        for n, unit in enumerate(units)
    ]
    findings = check_dossier(dossier, campaign).findings
    statuses[0] = dataclasses.replace(statuses[0], submissions=1, last_arrival=NOW, dossier=dossier, findings=findings)
    return statuses


def _roster(campaign: Campaign, tmp_path: Path) -> tuple[bytes, list[str]]:
    statuses = hostile_statuses(campaign)
    # A unit the office named with a formula's start reaches the 推荐单位 and 单位问题 sheets too.
    renamed = [dataclasses.replace(s, name=HOSTILE[1]) if s.dossier else s for s in statuses]
    return roster_xlsx(None, renamed), [*HOSTILE, BELL_SHOWN]


def _digest(campaign: Campaign, tmp_path: Path) -> tuple[bytes, list[str]]:
    digest = build_digest(hostile_statuses(campaign), campaign, NOW)
    exemplars = "、".join(e.name for e in hostile_dossier(campaign).stars if e.exemplar)
    return digest_xlsx(digest, campaign), [*HOSTILE, exemplars]


def _contact_sheet(campaign: Campaign, tmp_path: Path) -> tuple[bytes, list[str]]:
    rows = [
        ContactRow(unit=text, name=text, phone=text, wecom_user=text, role=text, emails=[f"a{n}@example.cn"])
        for n, text in enumerate(HOSTILE)
    ]
    return contacts_xlsx(rows), list(HOSTILE)


def _contact_template(campaign: Campaign, tmp_path: Path) -> tuple[bytes, list[str]]:
    return contacts_template_xlsx(HOSTILE), list(HOSTILE)


def _registers(campaign: Campaign, tmp_path: Path) -> tuple[bytes, list[str]]:
    """The blank 附表2 and 附表4 hold no unit's text; they must hold no formula either."""
    books = [p.read_bytes() for p in write_templates(tmp_path, campaign) if p.suffix == ".xlsx"]
    assert len(books) == 2
    assert formula_problems(books[1]) == []
    return books[0], []


Writer = Callable[[Campaign, Path], tuple[bytes, list[str]]]
WRITERS: dict[str, list[Writer]] = {
    "nomdesk.exports": [_roster],
    "schedule.digest": [_digest],
    "intake.contact_sheet": [_contact_sheet, _contact_template],
    "intake.forms.templates": [_registers],
}


def _writes_sheets(path: Path) -> bool:
    """The module makes a workbook or a CSV: imports openpyxl's Workbook, xlsxwriter, xlwt, or csv with a
    writer (a module that only reads tesseract's TSV with csv.DictReader writes nothing)."""
    text = path.read_text(encoding="utf-8")
    for node in ast.walk(ast.parse(text)):
        names = [a.name for a in node.names] if isinstance(node, ast.Import | ast.ImportFrom) else []
        module = node.module if isinstance(node, ast.ImportFrom) else None
        if module == "openpyxl" and "Workbook" in names:
            return True
        if {*names, module} & {"xlsxwriter", "xlwt", "openpyxl.workbook", "pandas"}:
            return True
        if "csv" in {*names, module} and ("writer(" in text or "DictWriter" in text):
            return True
    return False


def test_every_module_that_writes_a_sheet_is_listed() -> None:
    writers = {
        ".".join(path.relative_to(ROOT).with_suffix("").parts)
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.parts and _writes_sheets(path)
    }
    assert writers == set(WRITERS), "a module writes a spreadsheet: guard it (intake.sheet_cells), list it here"
    for module in WRITERS:
        source = (ROOT / (module.replace(".", "/") + ".py")).read_text(encoding="utf-8")
        assert "from intake.sheet_cells import" in source, f"{module} writes cells without the guard"
        assert "from intake.sheet_layout import" in source, f"{module} writes sheets without the layout"


@pytest.mark.parametrize("writer", [w for ws in WRITERS.values() for w in ws], ids=lambda w: w.__name__.strip("_"))
def test_every_sheet_shows_what_was_written_as_text_never_as_a_formula(
    writer: Writer, campaign: Campaign, tmp_path: Path
) -> None:
    data, expected = writer(campaign, tmp_path)
    assert formula_problems(data, expected) == []


def layout_problems(data: bytes) -> list[str]:
    """What a clerk would have to fix by hand on each sheet (empty: nothing): no frozen header, no
    filter, a used column left at the default width (8.43, "####" for a date)."""
    problems: list[str] = []
    for ws in load_workbook(io.BytesIO(data)).worksheets:
        if not ws.freeze_panes:
            problems.append(f"{ws.title}: header not frozen")
        if not ws.auto_filter.ref:
            problems.append(f"{ws.title}: no filter")
        for column in range(1, ws.max_column + 1):
            letter = get_column_letter(column)
            if letter not in ws.column_dimensions or not ws.column_dimensions[letter].customWidth:
                problems.append(f"{ws.title}!{letter}: default width")
    return problems


@pytest.mark.parametrize("writer", [w for ws in WRITERS.values() for w in ws], ids=lambda w: w.__name__.strip("_"))
def test_every_sheet_is_laid_out_for_reading(writer: Writer, campaign: Campaign, tmp_path: Path) -> None:
    data, _ = writer(campaign, tmp_path)
    assert layout_problems(data) == []


def test_the_roster_keeps_its_own_numbers_numbers_and_a_units_number_like_text_text(
    campaign: Campaign, tmp_path: Path
) -> None:
    data, _ = _roster(campaign, tmp_path)
    stars, projects = column_values(data, STARS_DIR, "序号"), column_values(data, PROJECTS_DIR, "序号")
    assert stars == list(range(1, len(stars) + 1)) and projects == list(range(1, len(projects) + 1))
    assert all(type(n) is int for n in [*stars, *projects, *column_values(data, UNIT_PROBLEMS, "序号")])
    assert "-5" in column_values(data, STARS_DIR, "姓名")  # a name the unit wrote, shown as written
    assert BELL not in column_values(data, STARS_DIR, "备注")


def test_the_digest_keeps_its_counts_numbers(campaign: Campaign, tmp_path: Path) -> None:
    data, _ = _digest(campaign, tmp_path)
    for header in ("序号", "报送次数", "百姓学习之星", "品牌项目", "需修改"):
        assert all(type(n) is int for n in column_values(data, "单位汇总", header)), header
    assert isinstance(column_values(data, "单位汇总", "最近来件")[0], dt.datetime)


def test_the_contact_template_keeps_its_layout(campaign: Campaign, tmp_path: Path) -> None:
    data, _ = _contact_template(campaign, tmp_path)
    assert column_values(data, "联系人", "单位", header_row=2) == []  # blank, header below the title
