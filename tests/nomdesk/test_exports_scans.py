"""The roster the experts get marks a form read from a stamped scan, as the reply does:
"推荐表 扫描件（自动识别）" for a scan that is the form, "推荐表✓，盖章扫描件✓" for a Word form
with its scan; unmarked when the check did not finish. The materials tree keeps the stamped scan
beside the Word form."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from openpyxl import load_workbook

from config.campaign import Campaign
from nomdesk.exports import PROJECTS_DIR, STARS_DIR, materials_plan, roster_xlsx, safe_name
from schedule.status import UnitStatus
from storage.repo import Store
from tests.support.dossiers import PROJECT_NAMES, STAR_NAMES, UNIT
from tests.support.scanned_forms import build, mail, scan_of, scan_path, submission_of, with_forms, word_form
from validators import run_rules

KIM, PARK = STAR_NAMES[0], STAR_NAMES[1]
PROJECT = PROJECT_NAMES[0]


def roster(campaign: Campaign, *, check_error: str | None = None) -> dict[str, dict[str, dict[str, object]]]:
    """Rows by name, per sheet: 金哲洙 and the first project sent only scans (金哲洙's phone unread),
    朴英子 a Word form and its scan."""
    sub = submission_of(campaign, scanned_only={KIM: ("phone",), PROJECT: ()})
    park = next(f for f in sub.star_forms if f.fields.name == PARK)
    dossier = build(campaign, with_forms(sub, scan_of(park, scan_path(park), 0)))
    status = UnitStatus(
        name=UNIT,
        kind="city",
        known=True,
        submissions=1,
        dossier=dossier,
        findings=run_rules(dossier, campaign),
        check_error=check_error,
    )
    wb = load_workbook(io.BytesIO(roster_xlsx(None, [status])))
    out: dict[str, dict[str, dict[str, object]]] = {}
    for title in (STARS_DIR, PROJECTS_DIR):
        rows = list(wb[title].iter_rows(values_only=True))
        by_header = [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
        out[title] = {str(r["姓名"] if title == STARS_DIR else r["项目名称"]): r for r in by_header}
    return out


def test_the_roster_marks_scanned_forms(campaign: Campaign) -> None:
    sheets = roster(campaign)
    stars, projects = sheets[STARS_DIR], sheets[PROJECTS_DIR]
    assert stars[KIM]["推荐表"] == "推荐表 扫描件（自动识别）⚠"
    assert stars[KIM]["材料齐全"] == "是"  # a warning: counted, the Word form asked for
    assert "扫描件中以下栏目未能自动识别：联系电话，请补发 Word 版推荐表" in str(stars[KIM]["问题"])
    assert stars[PARK]["推荐表"] == "推荐表✓，盖章扫描件✓" and not stars[PARK]["问题"]
    assert stars[STAR_NAMES[2]]["推荐表"] == "推荐表✓"
    assert projects[PROJECT]["推荐表"] == "推荐表 扫描件（自动识别）✓" and projects[PROJECT]["材料齐全"] == "是"


@pytest.mark.parametrize("name", [KIM, PARK])
def test_an_unfinished_check_lists_the_form_unmarked(campaign: Campaign, name: str) -> None:
    row = roster(campaign, check_error="STAR_LEADER")[STARS_DIR][name]
    assert row["材料齐全"] == "检查未完成"
    assert row["推荐表"] in ("推荐表 扫描件（自动识别）", "推荐表，盖章扫描件")


def test_the_materials_tree_keeps_the_stamped_scan_beside_the_word_form(campaign: Campaign, tmp_path: Path) -> None:
    word = word_form(campaign, KIM)
    scan = scan_of(word, scan_path(word), 0)
    sub = with_forms(mail(0, "金哲洙推荐表"), word, scan)
    dossier = build(campaign, sub)
    with Store.open(tmp_path / "var") as store:
        stored = []
        for f in sub.files:
            local = tmp_path / f.name
            local.write_bytes(f.path.encode())
            stored.append(
                store.submissions.store_file(f.model_copy(update={"local": local, "size": len(f.path.encode())}))
            )
        raw, _ = store.raw.put(b"Message-ID: <scan@x>\r\n\r\nbody\r\n", source="cli", received_at=campaign.deadline_end)
        store.submissions.add(raw.id, unit_name=UNIT, arrived_at=campaign.deadline_end, files=stored)
        plan = materials_plan(store, UNIT, dossier, "延边州")
        assert {p.target: p.source.read_bytes().decode() for p in plan} == {
            f"延边州/{STARS_DIR}/{KIM}/推荐表_{KIM}推荐表.docx": word.path,
            f"延边州/{STARS_DIR}/{KIM}/盖章扫描件_{safe_name(scan.path.rsplit('/', 1)[-1])}": scan.path,
        }
