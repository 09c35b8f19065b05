"""Checklist marks never contradict their lines: items are marked from the findings about them,
the row from its items and the nominee's own findings (RULES.md "Resubmissions", last item)."""

from __future__ import annotations

from config import Campaign
from intake.models import ITEM_VIDEO, FileKind
from tests.support.dossiers import add_problem, city_dossier, rename_star, unreadable
from validators import run_rules
from validators.base import Finding, Severity
from validators.checklist import (
    BAD,
    OK,
    WARN,
    checklist_row,
    checklist_rows,
    compare_findings,
)
from validators.report import FILES, GENERAL, group_findings


def _row(rows, name):
    return next(r for r in rows if r.name == name)


def test_all_items_fine_make_the_row_fine(campaign: Campaign) -> None:
    dossier = city_dossier(campaign, exemplar_project=True)
    findings = run_rules(dossier, campaign)
    rows = checklist_rows(dossier, findings)
    assert len(rows) == len(dossier.stars) + len(dossier.projects)
    assert {r.mark for r in rows} == {OK}
    star = rows[0]
    assert str(star).startswith(f"✓ 百姓学习之星 {dossier.stars[0].name}：")
    assert star.line == "推荐表✓，照片2张✓，无视频"  # a star's video is optional: no mark when not sent
    project = _row(rows, dossier.projects[2].name)
    assert project.heading.endswith("（典范）")
    assert all(i.mark == OK for i in project.items) and "视频 4分30秒✓" in project.line


def test_an_unreadable_file_meant_for_a_video_marks_the_video_and_the_row(campaign: Campaign) -> None:
    dossier = city_dossier(campaign)
    project = dossier.projects[0]
    path = f"{project.name}/宣传片.mp4"
    project.videos = [unreadable(path, FileKind.VIDEO)]  # sent, kept for the nominee, but cannot be read
    add_problem(dossier, "FILE_UNREADABLE", path, "视频数据不完整（上传中断）")
    dossier.problems[-1].nominee, dossier.problems[-1].item = project.name, ITEM_VIDEO
    findings = run_rules(dossier, campaign)
    row = _row(checklist_rows(dossier, findings), project.name)
    assert "视频 无法打开✗" in row.line
    assert row.mark == BAD and not row.complete
    # The finding is the nominee's problem, not a loose file's.
    groups = dict(group_findings(dossier, findings))
    assert FILES not in groups
    assert [f.code for f in groups[f"终身学习品牌项目 {project.name}"]] == ["FILE_UNREADABLE"]


def test_an_unreadable_file_when_no_video_came_through(campaign: Campaign) -> None:
    dossier = city_dossier(campaign)
    project = dossier.projects[1]
    project.videos = []
    add_problem(dossier, "FILE_UNREADABLE", "视频.mp4", "不是视频文件（内容为文字：视频正在剪辑中）")
    dossier.problems[-1].nominee, dossier.problems[-1].item = project.name, ITEM_VIDEO
    row = _row(checklist_rows(dossier, run_rules(dossier, campaign)), project.name)
    assert row.line.endswith("视频 无法打开✗") and row.mark == BAD


def test_a_warning_only_makes_the_row_a_warning(campaign: Campaign) -> None:
    dossier = city_dossier(campaign)
    project = dossier.projects[0]
    assert project.summary is not None
    project.summary.chars = campaign.project.summary.min_chars - 100
    findings = run_rules(dossier, campaign)
    assert {f.severity for f in findings if f.nominee == project.name} == {Severity.WARNING}
    row = _row(checklist_rows(dossier, findings), project.name)
    assert f"工作总结{project.summary.chars}字⚠" in row.line
    assert row.mark == WARN and row.complete


def test_an_item_error_is_never_beside_a_fine_row_and_reasons_are_named(campaign: Campaign) -> None:
    dossier = city_dossier(campaign)
    dossier.stars[0].form = None
    dossier.stars[1].photos = dossier.stars[1].photos[:1]
    rows = checklist_rows(dossier, run_rules(dossier, campaign))
    assert "推荐表✗（未收到）" in rows[0].line and rows[0].mark == BAD
    assert "照片1张✗（要求2张）" in rows[1].line and rows[1].mark == BAD


def test_a_finding_on_no_item_decides_the_row_too(campaign: Campaign) -> None:
    dossier = city_dossier(campaign)
    star = dossier.stars[0]
    own = Finding(code="STAR_LEADER", severity=Severity.WARNING, subject=f"百姓学习之星 {star.name}", nominee=star.name)
    row = checklist_row(star, [own])
    assert all(i.mark in (OK, "") for i in row.items) and row.mark == WARN


def test_a_second_copy_of_a_name_shows_its_own_items(campaign: Campaign) -> None:
    dossier = city_dossier(campaign)
    copy = dossier.stars[1].model_copy(deep=True)
    dossier.stars.append(copy)
    rename_star(dossier, len(dossier.stars) - 1, dossier.stars[0].name)
    dossier.stars[0].photos = dossier.stars[0].photos[:1]  # the first copy's own problem
    rows = checklist_rows(dossier, run_rules(dossier, campaign))
    first, second = rows[0], rows[len(dossier.stars) - 1]
    assert "照片1张✗" in first.line
    assert "照片2张✓" in second.line and second.mark == BAD  # DUPLICATE_NOMINEE is the row's own


def test_findings_group_by_their_fields_not_their_subject(campaign: Campaign) -> None:
    dossier = city_dossier(campaign)
    add_problem(dossier, "FILE_UNREADABLE", "材料.zip/损坏.docx", "文件已损坏")
    unit = Finding(code="STAR_QUOTA", severity=Severity.WARNING, subject="附件里写的单位名")  # no nominee
    groups = dict(group_findings(dossier, [*run_rules(dossier, campaign), unit]))
    assert [f.code for f in groups[FILES]] == ["FILE_UNREADABLE"]
    assert "STAR_QUOTA" in [f.code for f in groups[GENERAL]]


def test_compare_findings_by_code_subject_nominee_and_item(campaign: Campaign) -> None:
    def f(code, count, nominee="张三", item="photos", severity=Severity.ERROR):
        subject = f"百姓学习之星 {nominee}"
        return Finding(
            code=code, severity=severity, subject=subject, nominee=nominee, item=item, params={"count": count}
        )

    before = [f("STAR_PHOTO_COUNT", 1), f("STAR_FORM_MISSING", 0, item="form"), f("PAPER_PENDING", 0, severity="info")]
    after = [f("STAR_PHOTO_COUNT", 3), f("STAR_ID_PHOTO", 0), f("STAR_PHOTO_COUNT", 1, nominee="李四")]
    result = compare_findings(before, after)
    # The photo count still fails with another count: the same problem, neither solved nor new.
    assert [x.code for x in result.resolved] == ["STAR_FORM_MISSING"]
    assert [(x.code, x.nominee) for x in result.new] == [("STAR_ID_PHOTO", "张三"), ("STAR_PHOTO_COUNT", "李四")]
    assert str(result) == "与上次相比：已解决 1 项，新增 2 项"
    assert str(compare_findings(after, after)) == "与上次相比：已解决 0 项，新增 0 项"
