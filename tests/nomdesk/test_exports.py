"""Exports for the expert review, and the office's CLI actions, over packages read by the real desk:
延边州's complete one, and 长白山's sample with missing pieces followed by a mail with a broken photo."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

import pytest
from openpyxl import load_workbook

from config.campaign import Campaign
from config.settings import Settings
from intake.models import Dossier
from nomdesk.desk import Desk
from nomdesk.exports import PROJECTS_DIR, STARS_DIR, UNIT_PROBLEMS, export_materials, roster_xlsx
from schedule.status import collect_status
from storage.repo import Store
from tests.support.dashboard import INCOMPLETE, SAMPLES
from tests.support.dossiers import PROJECT_NAMES, STAR_NAMES, rename_star
from tests.support.mail import attachment, filename_rfc2047
from tests.support.media import make_photo
from tests.support.packages import YANBIAN, build_eml, complete_city_package
from tests.support.service import mail, nomdesk

INCOMPLETE_SENDER = "2295831465@qq.com"  # 长白山's registered contact, the sample's sender
BROKEN_PHOTO = "补充照片.jpg"


def sheet_rows(ws) -> list[dict[str, object]]:
    """The rows of a sheet as the office reads them: by the header's names."""
    header = [c.value for c in ws[1]]
    return [dict(zip(header, (c.value for c in r), strict=True)) for r in ws.iter_rows(min_row=2)]


def material_paths(row: dict[str, object]) -> list[str]:
    """A row's files in the exported tree: its 材料路径 (the folder) joined with each 材料N."""
    files = [row[k] for k in row if isinstance(k, str) and k.startswith("材料") and k[2:].isdigit() and row[k]]
    return [f"{row['材料路径']}/{name}" for name in files]


@pytest.fixture(scope="module")
def desk_data(tmp_path_factory: pytest.TempPathFactory, campaign: Campaign):
    data = tmp_path_factory.mktemp("exports") / "var"
    store = Store.open(data)
    store.directory.sync_units(campaign)
    desk = Desk(Settings(data_dir=data), campaign, store)
    desk.ingest_file(build_eml(complete_city_package(campaign)))
    desk.ingest_file(SAMPLES / "changbaishan_missing" / "1.eml")
    photo = make_photo(600, 400).read_bytes()
    follow_up = tmp_path_factory.mktemp("mail") / "broken.eml"
    follow_up.write_bytes(
        mail(
            INCOMPLETE_SENDER,
            subject="长白山补充照片",
            parts=[attachment(photo[: len(photo) // 2], filename_rfc2047(BROKEN_PHOTO), content_type="image/jpeg")],
            date="Sat, 28 Aug 2021 09:30:00 +0800",
        )
    )
    desk.ingest_file(follow_up)
    desk.process_pending()
    yield desk
    store.close()


def test_roster_has_a_row_per_nominee_with_the_table_fields_and_the_materials(
    desk_data: Desk, campaign: Campaign, tmp_path: Path
) -> None:
    statuses = collect_status(desk_data.store, campaign)
    wb = load_workbook(io.BytesIO(roster_xlsx(desk_data.store, statuses)))
    assert wb.sheetnames == [STARS_DIR, PROJECTS_DIR, UNIT_PROBLEMS]
    stars, projects = wb[STARS_DIR], wb[PROJECTS_DIR]
    header = [c.value for c in stars[1]]
    tail = header.index("推荐单位")
    assert header[:4] == ["序号", "姓名", "性别", "出生年月"] and header[tail : tail + 5] == [
        "推荐单位",
        "典范",
        "材料齐全",
        "问题",
        "材料路径",
    ]
    assert header[tail + 5 :] == [f"材料{n}" for n in range(1, len(header) - tail - 4)]
    all_rows = sheet_rows(stars)
    rows = [r for r in all_rows if r["推荐单位"] == YANBIAN]
    n = campaign.quotas.stars.min
    assert [r["姓名"] for r in rows] == list(STAR_NAMES[:n])
    assert [r["姓名"] for r in rows if r["典范"] == "是"] == [STAR_NAMES[1]]
    assert all(r["材料齐全"] == "是" and not r["问题"] for r in rows)
    assert rows[0]["所属群体"] and rows[0]["工作单位及职务"] and rows[0]["联系电话"]
    all_project_rows = sheet_rows(projects)
    project_rows = [r for r in all_project_rows if r["推荐单位"] == YANBIAN]
    assert [r["项目名称"] for r in project_rows] == list(PROJECT_NAMES[: campaign.quotas.projects.min])
    assert stars.freeze_panes == "C2" and stars.auto_filter.ref

    # The roster's paths are the files of the exported tree.
    tree = tmp_path / "materials"
    written = export_materials(desk_data.store, statuses, tree)
    paths = [p for r in all_rows + all_project_rows for p in material_paths(r)]
    assert paths and {tree / p for p in paths} <= set(written)
    star = tree / YANBIAN / STARS_DIR / STAR_NAMES[0]
    names = sorted(p.name for p in star.iterdir())
    assert names[0].startswith("推荐表_") and any(n.startswith("照片01_") for n in names)
    snapshot = Dossier.model_validate(desk_data.store.evaluations.latest_dossier(YANBIAN).dossier)
    first = snapshot.stars[0].photos[0]
    copied = next(p for p in star.iterdir() if p.name.endswith(Path(first.path).name))
    assert copied.read_bytes() == Path(first.local).read_bytes()
    assert (tree / YANBIAN / PROJECTS_DIR).is_dir() and (tree / YANBIAN / "登记表").is_dir()


def test_an_incomplete_package_shows_its_problems_per_nominee_and_per_unit(desk_data: Desk, campaign: Campaign) -> None:
    statuses = collect_status(desk_data.store, campaign)
    wb = load_workbook(io.BytesIO(roster_xlsx(desk_data.store, statuses)))
    stars = {r["姓名"]: r for r in sheet_rows(wb[STARS_DIR]) if r["推荐单位"] == INCOMPLETE}
    # 宋丽萍 left out her phone number: her row says so, the others' are complete.
    assert stars["宋丽萍"]["材料齐全"] == "否" and "联系电话" in stars["宋丽萍"]["问题"]
    assert all(r["材料齐全"] == "是" and not r["问题"] for name, r in stars.items() if name != "宋丽萍")
    projects = {r["项目名称"]: r for r in sheet_rows(wb[PROJECTS_DIR]) if r["推荐单位"] == INCOMPLETE}
    assert projects["“林下经济”农民实用技术培训"]["材料齐全"] == "否"
    assert "附表3" in projects["“林下经济”农民实用技术培训"]["问题"]
    assert projects["“银龄健康”讲堂"]["材料齐全"] == "是"
    # What is on no nominee: too few stars for the quota (the unit's), the broken photo (a file's).
    unit_rows = [r for r in sheet_rows(wb[UNIT_PROBLEMS]) if r["推荐单位"] == INCOMPLETE]
    assert [(r["严重程度"], r["涉及"]) for r in unit_rows] == [
        ("请核实", f"推荐单位 {INCOMPLETE}"),
        ("必须修改", f"附件 {BROKEN_PHOTO}"),
    ]
    quota = campaign.quotas.stars
    assert f"{len(stars)} 名，少于下限（每单位 {quota.min}-{quota.max} 名）" in unit_rows[0]["问题"]
    assert "损坏" in unit_rows[1]["问题"] and unit_rows[1]["修改建议"]
    assert not [r for r in sheet_rows(wb[UNIT_PROBLEMS]) if r["推荐单位"] == YANBIAN]  # the paper note is no problem


def test_nominees_of_the_same_name_keep_their_own_files_and_a_new_export_leaves_nothing_stale(
    desk_data: Desk, campaign: Campaign, tmp_path: Path
) -> None:
    statuses = collect_status(desk_data.store, campaign)
    yanbian = next(s for s in statuses if s.name == YANBIAN)
    # Two people of one name (同名) in one unit: each keeps a folder of their own.
    twins = yanbian.dossier.model_copy(deep=True)
    rename_star(twins, 1, STAR_NAMES[0])
    same_name = [dataclasses.replace(yanbian, dossier=twins)]
    tree = tmp_path / "materials"
    export_materials(desk_data.store, same_name, tree)
    stars_dir = tree / YANBIAN / STARS_DIR
    first, second = stars_dir / STAR_NAMES[0], stars_dir / f"{STAR_NAMES[0]}_2"
    for folder, entry in ((first, twins.stars[0]), (second, twins.stars[1])):
        photo = next(p for p in folder.iterdir() if p.name.startswith("照片01_"))
        assert photo.read_bytes() == Path(entry.photos[0].local).read_bytes()
    rows = sheet_rows(load_workbook(io.BytesIO(roster_xlsx(desk_data.store, same_name)))[STARS_DIR])
    paths = [set(material_paths(r)) for r in rows[:2]]
    assert paths[0] and paths[1] and not paths[0] & paths[1]
    assert all((tree / p).is_file() for p in paths[0] | paths[1])

    # Exported again, over the first export, from the real dossiers: no file of the first is left
    # over, and what the office put in the folder itself stays.
    note = tree / "评审说明.txt"
    note.write_text("专家评审用", encoding="utf-8")
    written = export_materials(desk_data.store, statuses, tree)
    assert not second.exists() and (stars_dir / STAR_NAMES[1]).is_dir()
    on_disk = {p for p in tree.rglob("*") if p.is_file() and p.name != ".nomdesk-export.json"}
    assert on_disk == {*written, note}


def test_what_a_unit_wrote_like_a_formula_stays_text_in_the_roster(desk_data: Desk, campaign: Campaign) -> None:
    """A nominee named "=HYPERLINK(…)" or a remark starting with "+" is what the unit typed: the
    office's Excel shows it, it never runs it."""
    yanbian = next(s for s in collect_status(desk_data.store, campaign) if s.name == YANBIAN)
    typed = yanbian.dossier.model_copy(deep=True)
    link = '=HYPERLINK("http://evil.example/x","点击查看")'
    star = rename_star(typed, 0, link)
    assert star.row is not None
    star.row.remarks = "+86 请电话联系"
    data = roster_xlsx(desk_data.store, [dataclasses.replace(yanbian, dossier=typed)])
    ws = load_workbook(io.BytesIO(data))[STARS_DIR]
    header = [c.value for c in ws[1]]
    name, remarks = ws.cell(2, header.index("姓名") + 1), ws.cell(2, header.index("备注") + 1)
    assert (name.value, name.data_type, name.quotePrefix) == (link, "s", True)
    assert (remarks.value, remarks.data_type) == ("+86 请电话联系", "s")
    assert ws.cell(2, 1).value == 1 and ws.cell(2, 1).data_type == "n"  # numbers stay numbers


def test_paper_and_attach_from_the_cli(desk_data: Desk, tmp_path: Path) -> None:
    data = desk_data.settings.data_dir
    done = nomdesk("paper", "延边州", "--received", "2021-08-25", "--data-dir", data)
    assert done.returncode == 0, done.stderr
    assert "延边朝鲜族自治州教育局 的纸质材料于 2021年08月25日 收到" in done.stdout
    assert desk_data.store.state.paper_received(YANBIAN)
    assert "PAPER_PENDING" not in {f.code for f in desk_data.store.evaluations.current_findings(YANBIAN)}

    photo = tmp_path / "补充照片.jpg"
    photo.write_bytes(make_photo(1024, 768).read_bytes())
    done = nomdesk("attach", "延边州", photo, "--for", STAR_NAMES[0], "--data-dir", data)
    assert done.returncode == 0, done.stderr
    dossier = Dossier.model_validate(desk_data.store.evaluations.latest_dossier(YANBIAN).dossier)
    star = next(s for s in dossier.stars if s.name == STAR_NAMES[0])
    assert any(p.path.endswith(f"{STAR_NAMES[0]}_补充照片.jpg") for p in star.photos)
    assert len(dossier.submissions) == 2
    bad = nomdesk("paper", "不存在的单位", "--received", "2021-08-25", "--data-dir", data)
    assert bad.returncode == 2 and "找不到单位" in bad.stderr
