"""The roster for the expert review, from a unit's real package whose tables say what an attacker
would: a formula that leaks a cell to a URL, a DDE call that starts a program, texts starting
with "+", "-", "@", and a control character an old .xls carries. The office's Excel shows them."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from config.campaign import Campaign
from config.settings import Settings
from nomdesk.desk import Desk
from nomdesk.exports import PROJECTS_DIR, STARS_DIR
from storage.repo import Store
from tests.support.hostile_cells import BELL, BELL_SHOWN, DDE, HYPERLINK, column_values, formula_problems
from tests.support.packages import build_eml, complete_city_package, project_spec, star_spec
from tests.support.service import nomdesk


def test_what_a_unit_wrote_reaches_the_roster_file_as_text(tmp_path: Path, campaign: Campaign) -> None:
    package = complete_city_package(campaign, register_format="xls")  # .xls cells keep "=…" as text
    stars = [star_spec(campaign, 0, "@王芳"), star_spec(campaign, 1, "-赵", exemplar=True), *package.stars[2:]]
    stars[0].fields.update(employer_title=HYPERLINK, ethnicity="+86 请电话联系")
    stars[0].remarks = DDE
    projects = [project_spec(campaign, 0, package.projects[0].name), *package.projects[1:]]
    projects[0].fields.update(leader="-5", organizer=DDE)
    projects[0].remarks = BELL
    package = dataclasses.replace(package, stars=stars, projects=projects)

    data = tmp_path / "var"
    with Store.open(data) as store:
        store.directory.sync_units(campaign)
        desk = Desk(Settings(data_dir=data), campaign, store)
        desk.ingest_file(build_eml(package, tmp_path / "package.eml"))
        desk.process_pending()

    out = tmp_path / "推荐名单.xlsx"
    done = nomdesk("export", "roster", out, "--data-dir", data)
    assert done.returncode == 0, done.stderr
    roster = out.read_bytes()
    written = [HYPERLINK, DDE, "+86 请电话联系", "@王芳", "-赵", "-5", BELL_SHOWN]
    assert formula_problems(roster, written) == []
    assert column_values(roster, STARS_DIR, "姓名")[:2] == ["@王芳", "-赵"]
    assert column_values(roster, PROJECTS_DIR, "备注")[0] == BELL_SHOWN  # the stray control, shown
    numbers = column_values(roster, STARS_DIR, "序号") + column_values(roster, PROJECTS_DIR, "序号")
    assert numbers and all(type(n) is int for n in numbers)  # the desk's own numbers stay numbers
