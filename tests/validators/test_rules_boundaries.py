"""Boundaries of the measured rules, and numbers that follow the campaign file."""

from __future__ import annotations

import datetime as dt

import pytest

from config import Campaign
from config.campaign import Range
from intake.models import FileKind, FileProblem, YearMonth
from tests.support.dossiers import city_dossier, photo_file, set_project_fields, unreadable, video_file
from validators import finding_to_json, run_rules
from validators.base import Finding, Severity


def _of(code: str, findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.code == code]


def _run(dossier, campaign: Campaign, code: str) -> list[dict]:
    return [finding_to_json(f) for f in _of(code, run_rules(dossier, campaign, strict=True))]


# Durations: 3-4 minutes with 2 s of slack is 178-242 s, inclusive.
@pytest.mark.parametrize(("seconds", "fires"), [(177, True), (178, False), (242, False), (243, True)])
def test_star_video_duration_boundary(campaign: Campaign, seconds: float, fires: bool) -> None:
    d = city_dossier(campaign)
    d.stars[0].videos = [video_file("金哲洙/视频.mp4", seconds)]
    found = _run(d, campaign, "STAR_VIDEO_SPEC")
    assert bool(found) is fires
    if fires:
        assert found[0]["severity"] == "warning"
        assert "要求 3-4 分钟" in found[0]["message_zh"]


def test_project_video_message_names_measured_duration(campaign: Campaign) -> None:
    d = city_dossier(campaign)
    d.projects[0].videos = [video_file("海兰江畔/视频.mp4", 151)]
    (found,) = _run(d, campaign, "PROJECT_VIDEO_SPEC")
    assert "时长 2分31秒，要求 4-5 分钟" in found["message_zh"]
    assert found["subject"] == f"终身学习品牌项目 {d.projects[0].name}"


@pytest.mark.parametrize(
    ("fps", "fires"), [(25.0, False), (25.1, False), (24.9, False), (25.2, True), (24.8, True), (30.0, True)]
)
def test_exemplar_fps_tolerance(campaign: Campaign, fps: float, fires: bool) -> None:
    d = city_dossier(campaign, exemplar_star=True)
    d.stars[1].videos = [video_file("朴英子/宣传片.mp4", 270, fps=fps)]
    found = _run(d, campaign, "EXEMPLAR_VIDEO_SPEC")
    assert bool(found) is fires
    if fires:
        assert f"帧率 {fps:g} fps" in found[0]["message_zh"]


def test_exemplar_video_names_every_failing_property(campaign: Campaign) -> None:
    d = city_dossier(campaign, exemplar_project=True)
    d.projects[2].videos = [
        video_file("长鼓舞/宣传片.mov", 151, container="mov", codec="hevc", width=1920, height=1080, fps=29.97)
    ]
    (found,) = _run(d, campaign, "EXEMPLAR_VIDEO_SPEC")
    msg = found["message_zh"]
    parts = ("格式为 QuickTime（MOV），要求 MP4", "编码 H.265（HEVC）", "分辨率 1920×1080")
    parts += ("帧率 29.97 fps", "时长 2分31秒")
    for part in parts:
        assert part in msg, msg
    props = {s["prop"] for s in found["evidence"]["shortfalls"]}
    assert props == {"container", "codec", "size", "fps", "duration"}
    # An exemplar's video is held to the exemplar spec only.
    assert _run(d, campaign, "PROJECT_VIDEO_SPEC") == []


def test_variable_frame_rate_is_named(campaign: Campaign) -> None:
    d = city_dossier(campaign, exemplar_star=True)
    d.stars[1].videos = [video_file("朴英子/宣传片.mp4", 270, fps=23.4, variable_frame_rate=True)]
    (found,) = _run(d, campaign, "EXEMPLAR_VIDEO_SPEC")
    assert "可变帧率（平均 23.4 fps）" in found["message_zh"]


def test_audio_only_video_fails_its_spec(campaign: Campaign) -> None:
    d = city_dossier(campaign)
    d.stars[0].videos = [video_file("金哲洙/视频.mp4", 200, has_video=False)]
    (found,) = _run(d, campaign, "STAR_VIDEO_SPEC")
    assert "仅有音频" in found["message_zh"]


def test_unreadable_video_is_sent_but_not_measured(campaign: Campaign) -> None:
    d = city_dossier(campaign)
    d.projects[0].videos = [unreadable("海兰江畔/视频.mp4", FileKind.VIDEO)]
    codes = {f.code for f in run_rules(d, campaign, strict=True)}
    assert "PROJECT_VIDEO_MISSING" not in codes and "PROJECT_VIDEO_SPEC" not in codes


# ID photo: width/height 0.65-0.80 inclusive, at least 390x530, portrait, colour.
@pytest.mark.parametrize(
    ("width", "height", "fires"),
    [(390, 600, False), (480, 600, False), (486, 600, True), (384, 600, True), (389, 530, True), (413, 579, False)],
)
def test_id_photo_ratio_and_size(campaign: Campaign, width: int, height: int, fires: bool) -> None:
    d = city_dossier(campaign)
    d.stars[0].photos[0] = photo_file("金哲洙/证件照.jpg", width, height)
    found = _run(d, campaign, "STAR_ID_PHOTO")
    assert bool(found) is fires
    if fires:
        assert f"{width}×{height}" in found[0]["message_zh"]
        assert f"宽高比 {width / height:.2f}" in found[0]["message_zh"]


def test_greyscale_id_photo_fails(campaign: Campaign) -> None:
    d = city_dossier(campaign)
    d.stars[0].photos[0] = photo_file("金哲洙/证件照.jpg", 413, 579, colour=False)
    (found,) = _run(d, campaign, "STAR_ID_PHOTO")
    assert "不是彩色" in found["message_zh"]


def test_id_photo_reports_best_candidate(campaign: Campaign) -> None:
    d = city_dossier(campaign)
    d.stars[0].photos = [photo_file("a/横版.jpg", 1024, 768), photo_file("a/小证件照.jpg", 300, 420)]
    (found,) = _run(d, campaign, "STAR_ID_PHOTO")
    assert found["evidence"]["file"] == "a/小证件照.jpg"


def test_id_photo_silent_while_a_photo_is_unreadable(campaign: Campaign) -> None:
    d = city_dossier(campaign)
    d.stars[0].photos[0] = unreadable("金哲洙/证件照.jpg", FileKind.PHOTO)
    findings = run_rules(d, campaign, strict=True)
    assert _of("STAR_ID_PHOTO", findings) == [] and _of("STAR_PHOTO_COUNT", findings) == []


@pytest.mark.parametrize(("count", "severity"), [(7, "warning"), (8, None), (10, None), (11, "error")])
def test_star_quota(campaign: Campaign, count: int, severity: str | None) -> None:
    found = _run(city_dossier(campaign, stars=count), campaign, "STAR_QUOTA")
    assert [f["severity"] for f in found] == ([severity] if severity else [])
    if severity:
        assert f"{count} 名" in found[0]["message_zh"]


@pytest.mark.parametrize(("count", "severity"), [(4, "warning"), (5, None), (8, None), (9, "error")])
def test_project_quota(campaign: Campaign, count: int, severity: str | None) -> None:
    found = _run(city_dossier(campaign, projects=count), campaign, "PROJECT_QUOTA")
    assert [f["severity"] for f in found] == ([severity] if severity else [])


def test_star_photo_count_severity_by_direction(campaign: Campaign) -> None:
    d = city_dossier(campaign)
    d.stars[0].photos = d.stars[0].photos * 2
    d.stars[1].photos = d.stars[1].photos[:1]
    found = {f["subject"]: f for f in _run(d, campaign, "STAR_PHOTO_COUNT")}
    assert found[f"百姓学习之星 {d.stars[0].name}"]["severity"] == "warning"
    assert found[f"百姓学习之星 {d.stars[1].name}"]["severity"] == "error"
    assert "照片 1 张，要求 2 张" in found[f"百姓学习之星 {d.stars[1].name}"]["message_zh"]


@pytest.mark.parametrize(("count", "fires"), [(3, True), (4, False), (10, False), (11, True)])
def test_project_photo_count(campaign: Campaign, count: int, fires: bool) -> None:
    d = city_dossier(campaign)
    d.projects[0].photos = [photo_file(f"p/{i}.jpg", 800, 600) for i in range(count)]
    found = _run(d, campaign, "PROJECT_PHOTO_COUNT")
    assert bool(found) is fires
    if fires:
        assert found[0]["severity"] == "error"
        assert f"照片 {count} 张，要求 4-10 张" in found[0]["message_zh"]


@pytest.mark.parametrize(("count", "fires"), [(4, True), (5, False), (7, False), (8, True)])
def test_exemplar_star_photos_replace_the_normal_count(campaign: Campaign, count: int, fires: bool) -> None:
    d = city_dossier(campaign, exemplar_star=True)
    star = d.stars[1]
    star.photos = star.photos[:1] + [photo_file(f"p/{i}.jpg", 800, 600) for i in range(count - 1)]
    findings = run_rules(d, campaign, strict=True)
    assert bool(_of("EXEMPLAR_PHOTOS", findings)) is fires
    assert _of("STAR_PHOTO_COUNT", findings) == []


@pytest.mark.parametrize(("count", "fires"), [(6, True), (7, False), (15, False), (16, True)])
def test_exemplar_project_photos(campaign: Campaign, count: int, fires: bool) -> None:
    d = city_dossier(campaign, exemplar_project=True)
    d.projects[2].photos = [photo_file(f"p/{i}.jpg", 800, 600) for i in range(count)]
    findings = run_rules(d, campaign, strict=True)
    assert bool(_of("EXEMPLAR_PHOTOS", findings)) is fires
    assert _of("PROJECT_PHOTO_COUNT", findings) == []


@pytest.mark.parametrize(
    ("founded", "fires"),
    [
        (YearMonth(year=2019, month=8), False),  # 2019-08-01 + 2 years <= 2021-08-30
        (YearMonth(year=2019, month=9), True),
        (YearMonth(year=2019, month=8, day=30), False),  # a full date counts from its day
        (YearMonth(year=2019, month=8, day=31), True),
        (YearMonth(year=2019), True),  # a year alone counts from December 31 (see below)
        (YearMonth(year=2018), False),
        (YearMonth(year=2020, month=1), True),
    ],
)
def test_project_age(campaign: Campaign, founded: YearMonth, fires: bool) -> None:
    d = city_dossier(campaign)
    set_project_fields(d, 0, founded=str(founded), founded_parsed=founded)
    found = _run(d, campaign, "PROJECT_AGE")
    assert bool(found) is fires
    if fires:
        assert str(founded) in found[0]["message_zh"]


def test_project_age_of_a_year_alone_says_how_it_was_counted(campaign: Campaign) -> None:
    d = city_dossier(campaign)
    set_project_fields(d, 0, founded="2019年", founded_parsed=YearMonth(year=2019))
    (found,) = _run(d, campaign, "PROJECT_AGE")
    assert "只写了年份，按 2019年12月31日 计算" in found["message_zh"]


@pytest.mark.parametrize("written", ["2019-08-31", "2019年8月31日", "2019.08.31", {"date": "2019-08-31"}])
def test_project_age_of_a_full_date_as_written(campaign: Campaign, written: object) -> None:
    """The day is read from text and from an Excel date cell alike: one day too young fails."""
    from intake.forms.register import project_fields
    from tests.support.forms import cell_value

    fields = project_fields({"founded": cell_value(written)})
    d = city_dossier(campaign)
    set_project_fields(d, 0, founded=fields.founded, founded_parsed=fields.founded_parsed)
    assert [f["evidence"]["founded"] for f in _run(d, campaign, "PROJECT_AGE")] == ["2019-08-31"]


def test_project_age_unreadable_date_is_said(campaign: Campaign) -> None:
    d = city_dossier(campaign)
    set_project_fields(d, 0, founded="很早以前", founded_parsed=None)
    (found,) = _run(d, campaign, "PROJECT_AGE")
    assert "很早以前" in found["message_zh"] and "无法识别" in found["message_zh"]
    # An empty date is a missing field, not an age problem.
    set_project_fields(d, 0, founded=None, founded_parsed=None)
    assert _run(d, campaign, "PROJECT_AGE") == []
    assert _run(d, campaign, "PROJECT_FIELD_MISSING")


def test_project_scale(campaign: Campaign) -> None:
    d = city_dossier(campaign)
    set_project_fields(d, 0, people_per_year_n=1500, participations_per_year_n=None, participations_per_year=None)
    (found,) = _run(d, campaign, "PROJECT_SCALE")
    assert found["severity"] == "warning" and "1500 人" in found["message_zh"]
    set_project_fields(d, 0, people_per_year_n=2000)
    assert _run(d, campaign, "PROJECT_SCALE") == []
    # Figures written but not numbers: said; nothing written at all: a missing field instead.
    set_project_fields(d, 0, people_per_year="很多", people_per_year_n=None)
    (found,) = _run(d, campaign, "PROJECT_SCALE")
    assert "“很多”" in found["message_zh"]
    set_project_fields(d, 0, people_per_year=None)
    assert _run(d, campaign, "PROJECT_SCALE") == []


def test_late_is_named_per_mail(campaign: Campaign) -> None:
    d = city_dossier(campaign)
    d.submissions.append(d.submissions[0].model_copy(update={"index": 1, "source": "2.eml", "subject": "补充材料"}))
    d.submissions[1].arrived_at = campaign.deadline_end  # the first instant of the next day
    # a naive time is local time: 23:59 on the deadline day is on time
    d.submissions[0].arrived_at = dt.datetime.combine(campaign.deadline, dt.time(23, 59))
    (found,) = _run(d, campaign, "LATE")
    assert found["subject"] == "邮件 补充材料"
    # which mail, in its words, and that it came after the deadline
    assert found["message_zh"].startswith("邮件「补充材料」于 2021年8月31日 00:00 收到，已过报送截止时间")
    assert "2021年8月30日 24:00" in found["message_zh"]


def test_a_file_the_office_attached_late_is_not_the_units_late_delivery(campaign: Campaign) -> None:
    d = city_dossier(campaign)
    d.submissions.append(
        d.submissions[0].model_copy(
            update={"index": 1, "subject": "办公室补充附件：视频.mp4", "arrived_at": campaign.deadline_end}
        )
    )
    (late,) = _run(d, campaign, "LATE")  # the unit's own late mail
    assert late["evidence"]["submission"] == 1
    d.submissions[1].actor = "office:wuxh"
    assert _run(d, campaign, "LATE") == []


def test_a_broken_file_names_the_mail_it_came_in_once_there_are_several(campaign: Campaign) -> None:
    d = city_dossier(campaign)
    broken = FileProblem(code="FILE_UNREADABLE", path="推荐材料.zip", reason="压缩包不完整", submission=0)
    d.problems = [broken]
    (alone,) = _run(d, campaign, "FILE_UNREADABLE")
    assert alone["message_zh"] == "文件 推荐材料.zip：压缩包不完整"  # one mail: nothing to tell apart
    d.submissions.append(d.submissions[0].model_copy(update={"index": 1, "source": "2.eml", "subject": "补充"}))
    d.submissions[0].subject = "推荐材料"
    d.problems = [broken.model_copy(update={"submission": 1})]
    (second,) = _run(d, campaign, "FILE_UNREADABLE")
    assert second["message_zh"] == "文件 推荐材料.zip（邮件「补充」中）：压缩包不完整"
    assert second["evidence"]["path"] == "推荐材料.zip"


# Numbers follow the campaign file ------------------------------------------------------


def test_rules_follow_changed_numbers(campaign: Campaign) -> None:
    d = city_dossier(campaign)  # complete for the 2021 numbers
    assert run_rules(d, campaign, strict=True) == []
    changed = campaign.model_copy(
        update={
            "quotas": campaign.quotas.model_copy(update={"stars": Range(min=9, max=12)}),
            "star": campaign.star.model_copy(update={"photos": Range(min=3, max=4)}),
            "project": campaign.project.model_copy(
                update={
                    "photos": Range(min=6, max=12),
                    "video": campaign.project.video.model_copy(update={"min_seconds": 300, "max_seconds": 360}),
                    "summary": campaign.project.summary.model_copy(update={"min_chars": 2500}),
                }
            ),
            "deadline": dt.date(2021, 8, 1),
        }
    )
    findings = run_rules(d, changed, strict=True)
    by_code = {f.code: finding_to_json(f) for f in findings}
    assert "9-12 名" in by_code["STAR_QUOTA"]["message_zh"]
    assert "要求 3-4 张" in by_code["STAR_PHOTO_COUNT"]["message_zh"]
    assert "要求 6-12 张" in by_code["PROJECT_PHOTO_COUNT"]["message_zh"]
    assert "要求 5-6 分钟" in by_code["PROJECT_VIDEO_SPEC"]["message_zh"]
    assert "要求 2500-3000 字" in by_code["PROJECT_SUMMARY_LENGTH"]["message_zh"]
    assert "LATE" in by_code


def test_tolerances_follow_the_campaign(campaign: Campaign) -> None:
    d = city_dossier(campaign)
    d.stars[0].videos = [video_file("金哲洙/视频.mp4", 176)]
    assert _run(d, campaign, "STAR_VIDEO_SPEC")
    looser = campaign.model_copy(
        update={"tolerances": campaign.tolerances.model_copy(update={"duration_slack_seconds": 5})}
    )
    assert _run(d, looser, "STAR_VIDEO_SPEC") == []


def test_exemplar_limit_follows_the_campaign(campaign: Campaign) -> None:
    d = city_dossier(campaign, exemplar_star=True)
    none_allowed = campaign.model_copy(update={"quotas": campaign.quotas.model_copy(update={"exemplar_stars": 0})})
    (found,) = _run(d, none_allowed, "EXEMPLAR_LIMIT")
    assert found["severity"] == Severity.ERROR.value and "最多 0 个" in found["message_zh"]
