"""Project rules (validators/rules/project.py): every bound from both sides, numbers from the campaign.

Just inside a bound the rule is silent; just outside it fires once and shows what it measured.
"""

from __future__ import annotations

import datetime as dt

import pytest

from config import Campaign
from intake.models import YearMonth
from tests.support.dossiers import city_dossier, photo_file, rename_project, set_project_fields, video_file
from tests.validators.rule_bounds import VIDEO_SPEC_CHECKS, VideoSpecCase, fires_once, message, silent

# Summary length ------------------------------------------------------------------------


def _summary(campaign: Campaign, chars: int):
    d = city_dossier(campaign)
    d.projects[0].summary.chars = chars
    return d


@pytest.mark.parametrize("bound", ["min_chars", "max_chars"])
def test_summary_length_at_its_bound_is_silent(campaign: Campaign, bound: str) -> None:
    silent(_summary(campaign, getattr(campaign.project.summary, bound)), campaign, "PROJECT_SUMMARY_LENGTH")


@pytest.mark.parametrize(("bound", "step"), [("min_chars", -1), ("max_chars", +1)])
def test_summary_length_one_past_its_bound_fires(campaign: Campaign, bound: str, step: int) -> None:
    s = campaign.project.summary
    chars = getattr(s, bound) + step
    d = _summary(campaign, chars)
    f = fires_once(d, campaign, "PROJECT_SUMMARY_LENGTH")
    assert f.severity == "warning"
    assert f.nominee == d.projects[0].name
    assert (f.params["chars"], f.params["min_chars"], f.params["max_chars"]) == (chars, s.min_chars, s.max_chars)
    assert f"工作总结 {chars} 字，要求 {s.min_chars}-{s.max_chars} 字" in message(f)
    assert f.evidence["file"] == d.projects[0].summary.path


def test_summary_missing_is_its_own_code_not_a_length(campaign: Campaign) -> None:
    d = city_dossier(campaign)
    d.projects[0].summary = None
    f = fires_once(d, campaign, "PROJECT_SUMMARY_MISSING")
    s = campaign.project.summary
    assert (f.params["min_chars"], f.params["max_chars"]) == (s.min_chars, s.max_chars)
    silent(d, campaign, "PROJECT_SUMMARY_LENGTH")
    silent(city_dossier(campaign), campaign, "PROJECT_SUMMARY_MISSING")


# Photo count ---------------------------------------------------------------------------


def _photos(campaign: Campaign, count: int):
    d = city_dossier(campaign)
    d.projects[0].photos = [photo_file(f"项目/海兰江畔/活动{i}.jpg", 1024, 768) for i in range(count)]
    return d


@pytest.mark.parametrize("bound", ["min", "max"])
def test_photo_count_at_its_bound_is_silent(campaign: Campaign, bound: str) -> None:
    silent(_photos(campaign, getattr(campaign.project.photos, bound)), campaign, "PROJECT_PHOTO_COUNT")


@pytest.mark.parametrize(("bound", "step"), [("min", -1), ("max", +1)])
def test_photo_count_one_past_its_bound_fires(campaign: Campaign, bound: str, step: int) -> None:
    spec = campaign.project.photos
    count = getattr(spec, bound) + step
    f = fires_once(_photos(campaign, count), campaign, "PROJECT_PHOTO_COUNT")
    assert f.severity == "error"  # RULES.md: error both ways for projects
    assert f.params["count"] == count
    assert f"照片 {count} 张，要求 {spec.min}-{spec.max} 张" in message(f)
    assert len(f.evidence["files"]) == count


# Video: required, container, duration with slack ---------------------------------------


VIDEO = VideoSpecCase(kind="project", code="PROJECT_VIDEO_SPEC", severity="error", path="项目/海兰江畔/宣传片.mp4")


@pytest.mark.parametrize(("check", "args"), VIDEO_SPEC_CHECKS)
def test_video_spec_bounds(campaign: Campaign, check: str, args: tuple) -> None:
    """Duration from both sides of the slack-widened range, and the container list."""
    getattr(VIDEO, check)(campaign, *args)


def test_one_video_in_spec_is_enough(campaign: Campaign) -> None:
    low, _ = VIDEO.duration_bounds(campaign)
    d = VIDEO.dossier(campaign, low - 1)
    d.projects[0].videos.append(video_file("项目/海兰江畔/宣传片2.mp4", low))
    silent(d, campaign, "PROJECT_VIDEO_SPEC")


def test_video_required(campaign: Campaign) -> None:
    assert campaign.project.video.required
    d = city_dossier(campaign)
    d.projects[0].videos = []
    f = fires_once(d, campaign, "PROJECT_VIDEO_MISSING")
    assert f.nominee == d.projects[0].name
    silent(city_dossier(campaign), campaign, "PROJECT_VIDEO_MISSING")
    not_required = campaign.model_copy(
        update={
            "project": campaign.project.model_copy(
                update={"video": campaign.project.video.model_copy(update={"required": False})}
            )
        }
    )
    silent(d, not_required, "PROJECT_VIDEO_MISSING")


# Age: founded at least min_age_years before the deadline -------------------------------


def _latest(campaign: Campaign) -> dt.date:
    """The last founding day that passes: the deadline, min_age_years earlier."""
    deadline = campaign.deadline
    return deadline.replace(year=deadline.year - campaign.project.min_age_years)


def _ym(day: dt.date) -> YearMonth:
    return YearMonth(year=day.year, month=day.month, day=day.day if day.day > 1 else None)


def _founded(campaign: Campaign, founded: YearMonth):
    d = city_dossier(campaign)
    set_project_fields(d, 0, founded=str(founded), founded_parsed=founded)
    return d


def _age_fires(campaign: Campaign, founded: YearMonth, counted_from: dt.date) -> None:
    f = fires_once(_founded(campaign, founded), campaign, "PROJECT_AGE")
    assert f.severity == "error"
    assert f.params["founded"] == str(founded)
    assert f.params["years"] == campaign.project.min_age_years
    assert f.evidence["founded"] == counted_from.isoformat()


def test_age_full_date_on_the_last_passing_day_is_silent(campaign: Campaign) -> None:
    silent(_founded(campaign, _ym(_latest(campaign))), campaign, "PROJECT_AGE")


def test_age_full_date_one_day_later_fires(campaign: Campaign) -> None:
    day = _latest(campaign) + dt.timedelta(days=1)
    _age_fires(campaign, _ym(day), day)


def test_age_month_only_counts_from_the_first(campaign: Campaign) -> None:
    latest = _latest(campaign)
    silent(_founded(campaign, YearMonth(year=latest.year, month=latest.month)), campaign, "PROJECT_AGE")
    nxt = (latest.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    _age_fires(campaign, YearMonth(year=nxt.year, month=nxt.month), nxt)


def test_age_year_only_counts_from_december_31(campaign: Campaign) -> None:
    latest = _latest(campaign)
    if (latest.month, latest.day) == (12, 31):  # a deadline that lets the whole year pass: a day earlier
        campaign = campaign.model_copy(update={"deadline": campaign.deadline - dt.timedelta(days=1)})
        latest = _latest(campaign)
    silent(_founded(campaign, YearMonth(year=latest.year - 1)), campaign, "PROJECT_AGE")
    _age_fires(campaign, YearMonth(year=latest.year), dt.date(latest.year, 12, 31))


def test_age_follows_a_changed_deadline(campaign: Campaign) -> None:
    latest = _latest(campaign)
    later = campaign.model_copy(update={"deadline": campaign.deadline + dt.timedelta(days=1)})
    d = _founded(campaign, _ym(latest + dt.timedelta(days=1)))
    silent(d, later, "PROJECT_AGE")
    fires_once(d, campaign, "PROJECT_AGE")


# Scale: min_people a year OR min_participations a year ---------------------------------


def _scale(campaign: Campaign, people: int | None, participations: int | None):
    d = city_dossier(campaign)
    set_project_fields(
        d,
        0,
        people_per_year=f"{people}人" if people is not None else None,
        people_per_year_n=people,
        participations_per_year=f"{participations}人次" if participations is not None else None,
        participations_per_year_n=participations,
    )
    return d


@pytest.mark.parametrize(
    ("people_step", "partic_step"),
    [(0, -1), (-1, 0), (0, None), (None, 0)],
)
def test_scale_either_figure_at_its_bound_is_enough(campaign: Campaign, people_step, partic_step) -> None:
    s = campaign.project.scale
    people = None if people_step is None else s.min_people + people_step
    partic = None if partic_step is None else s.min_participations + partic_step
    silent(_scale(campaign, people, partic), campaign, "PROJECT_SCALE")


@pytest.mark.parametrize(("people_known", "partic_known"), [(True, True), (True, False), (False, True)])
def test_scale_both_figures_one_below_fire(campaign: Campaign, people_known: bool, partic_known: bool) -> None:
    s = campaign.project.scale
    people = s.min_people - 1 if people_known else None
    partic = s.min_participations - 1 if partic_known else None
    f = fires_once(_scale(campaign, people, partic), campaign, "PROJECT_SCALE")
    assert f.severity == "warning"
    assert f.evidence == {"people": people, "participations": partic}
    assert f.params["people"] == (f"{people} 人" if people_known else "未填")
    assert f.params["participations"] == (f"{partic} 人次" if partic_known else "未填")
    assert f"低于每年 {s.min_people} 人或 {s.min_participations} 人次" in message(f)


def test_scale_written_but_not_a_number_is_said(campaign: Campaign) -> None:
    d = city_dossier(campaign)
    set_project_fields(
        d,
        0,
        people_per_year="很多",
        people_per_year_n=None,
        participations_per_year=None,
        participations_per_year_n=None,
    )
    f = fires_once(d, campaign, "PROJECT_SCALE")
    assert f.params["people"] == "“很多”"


# Form, fields, name, past honorees -----------------------------------------------------


def test_form_missing(campaign: Campaign) -> None:
    d = city_dossier(campaign)
    silent(d, campaign, "PROJECT_FORM_MISSING")
    d.projects[1].form = None
    f = fires_once(d, campaign, "PROJECT_FORM_MISSING")
    assert f.nominee == d.projects[1].name


@pytest.mark.parametrize(("where", "label"), [("row", "附表4"), ("form", "附表3")])
def test_field_missing_names_the_place_and_the_field(campaign: Campaign, where: str, label: str) -> None:
    d = city_dossier(campaign)
    silent(d, campaign, "PROJECT_FIELD_MISSING")
    set_project_fields(d, 0, where=where, phone="  ")
    f = fires_once(d, campaign, "PROJECT_FIELD_MISSING")
    assert f.evidence["missing"] == {label: ["联系电话"]}


def test_field_missing_people_or_participations_one_is_enough(campaign: Campaign) -> None:
    d = _scale(campaign, None, campaign.project.scale.min_participations)
    silent(d, campaign, "PROJECT_FIELD_MISSING")
    d = _scale(campaign, None, None)
    f = fires_once(d, campaign, "PROJECT_FIELD_MISSING")
    assert set(f.evidence["missing"]) == {"附表4", "附表3"}
    silent(d, campaign, "PROJECT_SCALE")  # nothing written: the missing field says it


def test_named_as_unit(campaign: Campaign) -> None:
    d = city_dossier(campaign)
    silent(d, campaign, "PROJECT_NAMED_AS_UNIT")
    rename_project(d, 0, f"{d.unit}终身学习品牌项目")
    f = fires_once(d, campaign, "PROJECT_NAMED_AS_UNIT")
    assert f.params["institution"] == d.unit


def test_previously_honored_by_name_and_by_brand(campaign: Campaign) -> None:
    past = campaign.past_honorees.projects[0]
    d = city_dossier(campaign)
    silent(d, campaign, "PROJECT_PREVIOUSLY_HONORED")
    rename_project(d, 0, past.name)
    f = fires_once(d, campaign, "PROJECT_PREVIOUSLY_HONORED")
    assert (f.params["year"], f.evidence["past_name"]) == (past.year, past.name)
    brand = past.name.split("”")[0] + "”"  # the quoted brand alone, another tail
    rename_project(d, 0, brand + "学习行动")
    assert fires_once(d, campaign, "PROJECT_PREVIOUSLY_HONORED").params["year"] == past.year
