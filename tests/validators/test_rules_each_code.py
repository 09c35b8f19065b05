"""Every registered rule fires on a dossier that breaks it and stays silent on one that does not.

The table has one row per finding code; a rule registered without a row fails the test,
so no rule can be added untested.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from config import Campaign
from intake.models import FileKind, YearMonth
from tests.support.dossiers import (
    add_link,
    add_problem,
    city_dossier,
    photo_file,
    rename_project,
    rename_star,
    set_project_fields,
    set_star_fields,
    unreadable,
    unregister_star,
    video_file,
)
from validators import REGISTRY, finding_to_json, run_rules
from validators.base import Finding

Build = Callable[[Campaign], object]


def _d(c: Campaign, **kw):
    return city_dossier(c, **kw)


def _with(c: Campaign, change: Callable, **kw):
    d = city_dossier(c, **kw)
    change(d, c)
    return d


def _set(obj, **values):
    for k, v in values.items():
        setattr(obj, k, v)


def _late(d, c):
    d.submissions[0].arrived_at = c.deadline_end + dt.timedelta(minutes=1)


def _last_second(d, c):
    d.submissions[0].arrived_at = c.deadline_end - dt.timedelta(seconds=1)


def _one_group(d, c):
    for i in range(len(d.stars)):
        set_star_fields(d, i, group=c.star.groups[0])


def _one_category(d, c):
    for i in range(len(d.projects)):
        set_project_fields(d, i, category=c.project.categories[0])


def _two_exemplar_stars(d, c):
    from tests.support.dossiers import star_entry

    d.stars[3] = star_entry(c, 3, d.stars[3].name, exemplar=True)
    d.star_register.star_rows = [s.row for s in d.stars]


def _college(d, c):
    d.unit, d.unit_kind = "延边大学", "college"


def _duplicate_id(d, c):
    form_id = d.stars[0].form.fields.id_number
    d.stars[1].form.fields.id_number = form_id


def _id_photo_too_small(d, c):
    d.stars[0].photos[0] = photo_file(d.stars[0].photos[0].path, 300, 420)


def _star_video(seconds: float):
    def change(d, c):
        d.stars[0].videos = [video_file("星/金哲洙/视频.mp4", seconds)]

    return change


def _leader(title: str):
    def change(d, c):
        set_star_fields(d, 0, employer_title=title)

    return change


def _past_star(d, c):
    rename_star(d, 0, c.past_honorees.stars[0].name)


def _past_project(d, c):
    rename_project(d, 0, c.past_honorees.projects[0].name)


def _project_video(seconds: float, **kw):
    def change(d, c):
        d.projects[0].videos = [video_file("项目/海兰江畔/视频.mp4", seconds, **kw)]

    return change


def _exemplar_video(**kw):
    def change(d, c):
        spec = c.exemplar.video
        args = {"width": spec.width, "height": spec.height, "fps": spec.fps, "codec": spec.codec, **kw}
        d.stars[1].videos = [video_file("星/朴英子/宣传片.mp4", (spec.min_seconds + spec.max_seconds) / 2, **args)]

    return change


def _no_star_material(d, c):
    d.stars = []
    d.star_register = None


CASES: dict[str, tuple[Build, Build]] = {
    "UNIT_UNKNOWN": (
        lambda c: _with(c, lambda d, c: _set(d, sender_registered=False)),
        lambda c: _d(c),  # offline: None
    ),
    "LATE": (lambda c: _with(c, _late), lambda c: _with(c, _last_second)),
    "STAR_QUOTA": (
        lambda c: _d(c, stars=c.quotas.stars.max + 1),
        lambda c: _d(c, stars=c.quotas.stars.max),
    ),
    "PROJECT_QUOTA": (
        lambda c: _d(c, projects=c.quotas.projects.min - 1),
        lambda c: _d(c, projects=c.quotas.projects.max),
    ),
    "STAR_TYPE_COVERAGE": (lambda c: _with(c, _one_group), _d),
    "PROJECT_TYPE_COVERAGE": (lambda c: _with(c, _one_category), _d),
    "EXEMPLAR_LIMIT": (
        lambda c: _with(c, _two_exemplar_stars, exemplar_star=True),
        lambda c: _d(c, exemplar_star=True, exemplar_project=True),
    ),
    "EXEMPLAR_NOT_CITY": (
        lambda c: _with(c, _college, exemplar_project=True),
        lambda c: _with(c, _college),
    ),
    "REGISTER_MISSING": (lambda c: _with(c, lambda d, c: _set(d, star_register=None)), _d),
    "REGISTER_MISMATCH": (lambda c: _with(c, lambda d, c: unregister_star(d, 2)), _d),
    "DUPLICATE_NOMINEE": (lambda c: _with(c, _duplicate_id), _d),
    "PAPER_PENDING": (
        lambda c: _with(c, lambda d, c: _set(d, paper_received=False)),
        lambda c: _with(c, lambda d, c: _set(d, paper_received=True)),
    ),
    "STAR_FORM_MISSING": (lambda c: _with(c, lambda d, c: _set(d.stars[0], form=None)), _d),
    "STAR_FIELD_MISSING": (lambda c: _with(c, lambda d, c: set_star_fields(d, 3, where="row", phone=None)), _d),
    "STAR_PHOTO_COUNT": (lambda c: _with(c, lambda d, c: _set(d.stars[0], photos=d.stars[0].photos[:1])), _d),
    "STAR_ID_PHOTO": (lambda c: _with(c, _id_photo_too_small), _d),
    "STAR_VIDEO_SPEC": (lambda c: _with(c, _star_video(151)), lambda c: _with(c, _star_video(180))),
    "STAR_LEADER": (
        lambda c: _with(c, _leader("吉林市教育局 局长")),
        lambda c: _with(c, _leader("龙井市某村 党支部书记")),
    ),
    "STAR_PREVIOUSLY_HONORED": (lambda c: _with(c, _past_star), _d),
    "PROJECT_FORM_MISSING": (lambda c: _with(c, lambda d, c: _set(d.projects[1], form=None)), _d),
    "PROJECT_FIELD_MISSING": (
        lambda c: _with(c, lambda d, c: set_project_fields(d, 0, where="form", leader=" ")),
        _d,
    ),
    "PROJECT_SUMMARY_MISSING": (lambda c: _with(c, lambda d, c: _set(d.projects[0], summary=None)), _d),
    "PROJECT_SUMMARY_LENGTH": (
        lambda c: _with(c, lambda d, c: _set(d.projects[0].summary, chars=c.project.summary.min_chars - 1)),
        lambda c: _with(c, lambda d, c: _set(d.projects[0].summary, chars=c.project.summary.min_chars)),
    ),
    "PROJECT_PHOTO_COUNT": (
        lambda c: _with(c, lambda d, c: _set(d.projects[0], photos=d.projects[0].photos * 3)),
        _d,
    ),
    "PROJECT_VIDEO_MISSING": (
        lambda c: _with(c, lambda d, c: _set(d.projects[0], videos=[])),
        # sent but unreadable: FILE_UNREADABLE reports it, the video is not "missing"
        lambda c: _with(c, lambda d, c: _set(d.projects[0], videos=[unreadable("项目/视频.mp4", FileKind.VIDEO)])),
    ),
    "PROJECT_VIDEO_SPEC": (lambda c: _with(c, _project_video(151)), lambda c: _with(c, _project_video(300))),
    "PROJECT_AGE": (
        lambda c: _with(
            c,
            lambda d, c: set_project_fields(
                d, 0, founded_parsed=_ym(c.deadline.year - c.project.min_age_years, c.deadline.month + 1)
            ),
        ),
        lambda c: _with(
            c,
            lambda d, c: set_project_fields(
                d, 0, founded_parsed=_ym(c.deadline.year - c.project.min_age_years, c.deadline.month)
            ),
        ),
    ),
    "PROJECT_SCALE": (
        lambda c: _with(
            c,
            lambda d, c: set_project_fields(
                d,
                0,
                people_per_year_n=c.project.scale.min_people - 1,
                participations_per_year_n=c.project.scale.min_participations - 1,
            ),
        ),
        lambda c: _with(
            c,
            lambda d, c: set_project_fields(
                d, 0, people_per_year_n=10, participations_per_year_n=c.project.scale.min_participations
            ),
        ),
    ),
    "PROJECT_NAMED_AS_UNIT": (
        lambda c: _with(
            c,
            lambda d, c: (
                rename_project(d, 0, "吉林市第一中学终身学习项目"),
                set_project_fields(d, 0, organizer="吉林市第一中学"),
            ),
        ),
        _d,
    ),
    "PROJECT_PREVIOUSLY_HONORED": (lambda c: _with(c, _past_project), _d),
    "EXEMPLAR_PHOTOS": (
        lambda c: _with(c, lambda d, c: _set(d.stars[1], photos=d.stars[1].photos[:2]), exemplar_star=True),
        lambda c: _d(c, exemplar_star=True),
    ),
    "EXEMPLAR_VIDEO_MISSING": (
        lambda c: _with(c, lambda d, c: _set(d.stars[1], videos=[]), exemplar_star=True),
        lambda c: _d(c, exemplar_star=True),
    ),
    "EXEMPLAR_VIDEO_SPEC": (
        lambda c: _with(c, _exemplar_video(width=1920, height=1080), exemplar_star=True),
        lambda c: _with(c, _exemplar_video(), exemplar_star=True),
    ),
    "FILE_UNREADABLE": (
        lambda c: add_problem(_d(c), "FILE_UNREADABLE", "材料.zip/视频.mp4", "视频数据不完整（上传中断）"),
        lambda c: add_problem(_d(c), "FILE_UNSUPPORTED", "材料.zip/说明.pages", "Pages 文稿"),
    ),
    "FILE_UNSUPPORTED": (
        lambda c: add_problem(_d(c), "FILE_UNSUPPORTED", "材料.zip/说明.pages", "Pages 文稿"),
        lambda c: add_problem(_d(c), "FILE_UNREADABLE", "材料.zip/视频.mp4", "视频数据不完整"),
    ),
    "ARCHIVE_ENCRYPTED": (
        lambda c: add_problem(_d(c), "ARCHIVE_ENCRYPTED", "材料.rar", "压缩包设有密码"),
        _d,
    ),
    "ARCHIVE_PART_MISSING": (
        lambda c: add_problem(
            _d(c),
            "ARCHIVE_PART_MISSING",
            "材料.7z",
            "缺少分卷",
            archive="材料.7z",
            missing=["材料.7z.002"],
            have=["材料.7z.001"],
        ),
        lambda c: add_problem(_d(c), "ARCHIVE_ENCRYPTED", "材料.rar", "压缩包设有密码"),
    ),
    "ARCHIVE_REJECTED": (
        lambda c: add_problem(
            _d(c), "ARCHIVE_REJECTED", "材料.zip/第4层.zip", "嵌套 4 层，超过 3 层的上限，未解压", limit=3
        ),
        lambda c: add_problem(_d(c), "ARCHIVE_ENCRYPTED", "材料.rar", "压缩包设有密码"),
    ),
    "FILE_UNMATCHED": (
        lambda c: _with(
            c,
            lambda d, c: d.unmatched.append(photo_file("材料/IMG_0001.jpg", 800, 600)),
        ),
        _d,
    ),
    "REGISTER_OMITS": (
        lambda c: _with(
            c,
            lambda d, c: (
                _set(d.stars[2], omitted_by="补充/附表2.xlsx"),
                _set(d.stars[5], omitted_by="补充/附表2.xlsx"),
            ),
        ),
        # a nominee the table leaves out but who was never registered is REGISTER_MISMATCH's, not this
        lambda c: _with(c, lambda d, c: _set(d.stars[2], omitted_by=None)),
    ),
    "LINK_PENDING": (
        lambda c: add_link(_d(c), "https://mail.qq.com/cgi-bin/ftnExs_download?k=abc", "mail.qq.com", "视频.mp4"),
        _d,
    ),
}


def _ym(year: int, month: int) -> YearMonth:
    if month > 12:
        year, month = year + 1, month - 12
    return YearMonth(year=year, month=month)


def _codes(findings: list[Finding]) -> set[str]:
    return {f.code for f in findings}


def test_every_registered_rule_has_a_case() -> None:
    assert sorted(set(REGISTRY.codes()) - set(CASES)) == []
    assert sorted(set(CASES) - set(REGISTRY.codes())) == []


@pytest.mark.parametrize("code", sorted(CASES))
def test_rule_fires(code: str, campaign: Campaign) -> None:
    fire, _ = CASES[code]
    findings = run_rules(fire(campaign), campaign, strict=True)
    assert code in _codes(findings), [finding_to_json(f) for f in findings]


@pytest.mark.parametrize("code", sorted(CASES))
def test_rule_silent(code: str, campaign: Campaign) -> None:
    _, silent = CASES[code]
    findings = run_rules(silent(campaign), campaign, strict=True)
    assert code not in _codes(findings), [finding_to_json(f) for f in findings if f.code == code]


@pytest.mark.parametrize("code", sorted(CASES))
def test_fired_finding_renders(code: str, campaign: Campaign) -> None:
    """The message and hint name real values: no placeholder left, no braces."""
    fire, _ = CASES[code]
    for f in run_rules(fire(campaign), campaign, strict=True):
        if f.code != code:
            continue
        out = finding_to_json(f)
        for text in (out["message_zh"], out["hint_zh"]):
            assert "？" not in text and "{" not in text, text
        assert set(REGISTRY.get(code).template_fields()) <= set(f.params), code


def test_complete_dossiers_have_no_findings(campaign: Campaign) -> None:
    for kw in ({}, {"exemplar_star": True, "exemplar_project": True}, {"stars": 10, "projects": 8}):
        findings = run_rules(city_dossier(campaign, **kw), campaign, strict=True)
        assert [finding_to_json(f) for f in findings] == []
