"""Exports for the expert review, and the office's CLI actions, over a package read by the real desk."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from openpyxl import load_workbook

from config.campaign import Campaign
from config.settings import Settings
from intake.models import Dossier
from nomdesk.desk import Desk
from nomdesk.exports import PROJECTS_DIR, STARS_DIR, export_materials, roster_xlsx
from schedule.status import collect_status
from storage.repo import Store
from tests.support.dossiers import PROJECT_NAMES, STAR_NAMES
from tests.support.media import make_photo
from tests.support.packages import YANBIAN, build_eml, complete_city_package
from tests.support.service import nomdesk


@pytest.fixture(scope="module")
def desk_data(tmp_path_factory: pytest.TempPathFactory, campaign: Campaign):
    data = tmp_path_factory.mktemp("exports") / "var"
    store = Store.open(data)
    store.sync_units(campaign)
    desk = Desk(Settings(data_dir=data), campaign, store)
    desk.ingest_file(build_eml(complete_city_package(campaign)))
    desk.process_pending()
    yield desk
    store.close()


def test_roster_has_a_row_per_nominee_with_the_table_fields_and_the_materials(
    desk_data: Desk, campaign: Campaign, tmp_path: Path
) -> None:
    statuses = collect_status(desk_data.store, campaign)
    wb = load_workbook(io.BytesIO(roster_xlsx(desk_data.store, statuses)))
    assert wb.sheetnames == [STARS_DIR, PROJECTS_DIR]
    stars, projects = wb[STARS_DIR], wb[PROJECTS_DIR]
    header = [c.value for c in stars[1]]
    assert header[:4] == ["序号", "姓名", "性别", "出生年月"] and header[-5:] == [
        "推荐单位",
        "典范",
        "材料齐全",
        "问题",
        "材料路径",
    ]
    rows = [dict(zip(header, (c.value for c in r), strict=True)) for r in stars.iter_rows(min_row=2)]
    n = campaign.quotas.stars.min
    assert [r["姓名"] for r in rows] == list(STAR_NAMES[:n])
    assert {r["推荐单位"] for r in rows} == {YANBIAN}
    assert [r["姓名"] for r in rows if r["典范"] == "是"] == [STAR_NAMES[1]]
    assert all(r["材料齐全"] == "是" and not r["问题"] for r in rows)
    assert rows[0]["所属群体"] and rows[0]["工作单位及职务"] and rows[0]["联系电话"]
    project_header = [c.value for c in projects[1]]
    project_rows = [dict(zip(project_header, (c.value for c in r), strict=True)) for r in projects.iter_rows(min_row=2)]
    assert [r["项目名称"] for r in project_rows] == list(PROJECT_NAMES[: campaign.quotas.projects.min])
    assert stars.freeze_panes == "C2" and stars.auto_filter.ref

    # The roster's paths are the files of the exported tree.
    tree = tmp_path / "materials"
    written = export_materials(desk_data.store, statuses, tree)
    paths = [p for r in rows + project_rows for p in (r["材料路径"] or "").split("\n") if p]
    assert paths and {tree / p for p in paths} <= set(written)
    star = tree / YANBIAN / STARS_DIR / STAR_NAMES[0]
    names = sorted(p.name for p in star.iterdir())
    assert names[0].startswith("推荐表_") and any(n.startswith("照片01_") for n in names)
    snapshot = Dossier.model_validate(desk_data.store.latest_dossier(YANBIAN).dossier)
    first = snapshot.stars[0].photos[0]
    copied = next(p for p in star.iterdir() if p.name.endswith(Path(first.path).name))
    assert copied.read_bytes() == Path(first.local).read_bytes()
    assert (tree / YANBIAN / PROJECTS_DIR).is_dir() and (tree / YANBIAN / "登记表").is_dir()


def test_paper_and_attach_from_the_cli(desk_data: Desk, tmp_path: Path) -> None:
    data = desk_data.settings.data_dir
    done = nomdesk("paper", "延边州", "--received", "2021-08-25", "--data-dir", data)
    assert done.returncode == 0, done.stderr
    assert "延边朝鲜族自治州教育局 的纸质材料于 2021年08月25日 收到" in done.stdout
    assert desk_data.store.paper_received(YANBIAN)
    assert "PAPER_PENDING" not in {f.code for f in desk_data.store.current_findings(YANBIAN)}

    photo = tmp_path / "补充照片.jpg"
    photo.write_bytes(make_photo(1024, 768).read_bytes())
    done = nomdesk("attach", "延边州", photo, "--for", STAR_NAMES[0], "--data-dir", data)
    assert done.returncode == 0, done.stderr
    dossier = Dossier.model_validate(desk_data.store.latest_dossier(YANBIAN).dossier)
    star = next(s for s in dossier.stars if s.name == STAR_NAMES[0])
    assert any(p.path.endswith(f"{STAR_NAMES[0]}_补充照片.jpg") for p in star.photos)
    assert len(dossier.submissions) == 2
    bad = nomdesk("paper", "不存在的单位", "--received", "2021-08-25", "--data-dir", data)
    assert bad.returncode == 2 and "找不到单位" in bad.stderr
