"""Resubmissions (RULES.md "Resubmissions") and which unit a package is from, end to end.

Several PATHs are one unit's mails in order of arrival: a later item replaces the
earlier one whole, a later 附表2 without a nominee withdraws them, and LATE names only
the mail that came after the deadline.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from config import Campaign
from tests.support.dossiers import PROJECT_NAMES, STAR_NAMES
from tests.support.packages import (
    PackageSpec,
    Photo,
    ProjectSpec,
    StarSpec,
    Video,
    build_eml,
    check_json,
    complete_city_package,
    finding_codes,
    mail_date,
    middle_seconds,
    project_spec,
    run_nomdesk,
    star_spec,
)

UNIT = "延边朝鲜族自治州教育局"


def _on(campaign: Campaign, days_before: int, hour: int = 10) -> str:
    return mail_date(dt.datetime.combine(campaign.deadline - dt.timedelta(days=days_before), dt.time(hour, 0)))


def _follow_up(
    campaign: Campaign, *, stars: list[StarSpec] = (), projects: list[ProjectSpec] = (), **kw: Any
) -> PackageSpec:
    """A "补充材料" mail: only what it names, no registration tables unless asked."""
    values: dict[str, Any] = {
        "subject": "延边州补充材料",
        "date": _on(campaign, 2),
        "zip_name": "延边州补充材料.zip",
        "root": "延边州补充材料",
        "star_register": False,
        "project_register": False,
        "stars": list(stars),
        "projects": list(projects),
        **kw,
    }
    return complete_city_package(campaign, **values)


def _only_material(entry: StarSpec | ProjectSpec, **changes: Any) -> StarSpec | ProjectSpec:
    """The nominee's files alone: no form, no summary, no table row."""
    extra = {"summary_chars": None} if isinstance(entry, ProjectSpec) else {}
    return dataclasses.replace(entry, form=False, registered=False, **extra, **changes)


def _findings(result: dict[str, Any], code: str) -> list[dict[str, Any]]:
    return [f for f in result["findings"] if f["code"] == code]


def test_follow_up_mail_supplies_missing_photos_and_video(campaign: Campaign) -> None:
    first = complete_city_package(campaign, date=_on(campaign, 5))
    first.stars[0].photos = []
    first.projects[0].videos = []
    first_mail = build_eml(first)

    alone = check_json([first_mail], campaign)
    assert alone is not None
    assert {(f["code"], f["subject"]) for f in alone["findings"] if f["severity"] == "error"} == {
        ("STAR_PHOTO_COUNT", f"百姓学习之星 {STAR_NAMES[0]}"),
        ("PROJECT_VIDEO_MISSING", f"终身学习品牌项目 {PROJECT_NAMES[0]}"),
    }

    complete = complete_city_package(campaign)
    second = _follow_up(
        campaign,
        stars=[_only_material(complete.stars[0])],
        projects=[_only_material(complete.projects[0], photos=[])],
    )
    run = run_nomdesk("check", first_mail, build_eml(second), "--json")
    merged = run.json
    assert merged["findings"] == [], merged["findings"]
    assert run.code == 0
    star = next(s for s in merged["stars"] if s["name"] == STAR_NAMES[0])
    assert len(star["photos"]) == campaign.star.photos.min
    assert all("补充材料" in p for p in star["photos"])
    project = next(p for p in merged["projects"] if p["name"] == PROJECT_NAMES[0])
    assert len(project["videos"]) == 1 and "补充材料" in project["videos"][0]["path"]
    # the project's photos of the first mail still stand: the second sent none for it
    assert len(project["photos"]) == campaign.project.photos.min
    assert [s["source"] for s in merged["submissions"]] == [str(first_mail), str(build_eml(second))]


def test_later_photo_set_replaces_the_earlier_one_whole(campaign: Campaign) -> None:
    first = complete_city_package(campaign, date=_on(campaign, 5))
    star = first.stars[0]
    more = [*star.photos, Photo(640, 480, f"{star.name}生活照9.jpg")]
    fewer = star.photos[:1]

    for photos, severity in ((more, "warning"), (fewer, "error")):
        second = _follow_up(campaign, stars=[_only_material(star, photos=photos)])
        result = check_json([build_eml(first), build_eml(second)], campaign)
        assert result is not None
        found = _findings(result, "STAR_PHOTO_COUNT")
        assert [(f["subject"], f["severity"], f["evidence"]["count"]) for f in found] == [
            (f"百姓学习之星 {star.name}", severity, len(photos))
        ]
        assert all("补充材料" in path for path in found[0]["evidence"]["files"])


def test_later_register_without_a_nominee_withdraws_them(campaign: Campaign) -> None:
    nine = campaign.quotas.stars.min + 1
    first = complete_city_package(campaign, stars=nine, date=_on(campaign, 5))
    withdrawn = first.stars[-1].name
    kept = [dataclasses.replace(s, form=False, photos=[], videos=[]) for s in first.stars[:-1]]
    second = _follow_up(campaign, subject="延边州更正后的登记表", star_register=True, stars=kept)

    result = check_json([build_eml(first), build_eml(second)], campaign)
    assert result is not None
    assert withdrawn not in [s["name"] for s in result["stars"]]
    assert len(result["stars"]) == nine - 1
    assert result["findings"] == [], result["findings"]
    # the forms and photos of the others still come from the first mail
    assert all(s["form"] and len(s["photos"]) >= campaign.star.photos.min for s in result["stars"])


def test_late_names_only_the_mail_after_the_deadline(campaign: Campaign) -> None:
    first = complete_city_package(campaign, date=_on(campaign, 5))
    complete = complete_city_package(campaign)
    late_date = mail_date(dt.datetime.combine(campaign.deadline + dt.timedelta(days=1), dt.time(9, 30)))
    second = _follow_up(
        campaign,
        subject="延边州逾期补充视频",
        date=late_date,
        projects=[_only_material(complete.projects[1], photos=[])],
    )
    result = check_json([build_eml(first), build_eml(second)], campaign)
    assert result is not None
    late = _findings(result, "LATE")
    assert [(f["subject"], f["severity"], f["evidence"]["submission"]) for f in late] == [
        ("邮件 延边州逾期补充视频", "warning", 1)
    ]
    assert finding_codes(result) == {"LATE"}


def _anonymous(campaign: Campaign, **kw: Any) -> PackageSpec:
    """A package that names its unit nowhere but where `kw` says."""
    values: dict[str, Any] = {
        "unit": "",
        "sender": "zhangsan1985@qq.com",
        "sender_name": "张老师",
        "subject": "推荐材料",
        "zip_name": "推荐材料.zip",
        "root": "推荐材料",
        "stars": [star_spec(campaign, i, STAR_NAMES[i]) for i in range(campaign.quotas.stars.min)],
        "projects": [project_spec(campaign, i, PROJECT_NAMES[i]) for i in range(campaign.quotas.projects.min)],
        **kw,
    }
    return complete_city_package(campaign, **values)


def test_unit_from_the_registered_sender_address(campaign: Campaign) -> None:
    spec = _anonymous(campaign, sender="YBJYJ_zcjy@163.com")
    result = check_json([build_eml(spec)], campaign)
    assert result is not None and result["unit"] == UNIT


def test_unit_from_the_register_unit_line(campaign: Campaign) -> None:
    result = check_json([build_eml(_anonymous(campaign, unit="长白山管委会教育科技局"))], campaign)
    assert result is not None and result["unit"] == "长白山管委会教育科技局"
    assert result["unit_kind"] == "city"


def test_unit_from_the_subject_short_form(campaign: Campaign) -> None:
    result = check_json([build_eml(_anonymous(campaign, subject="延边州2021年推荐材料"))], campaign)
    assert result is not None and result["unit"] == UNIT


def test_explicit_unit_wins(campaign: Campaign) -> None:
    mail = build_eml(complete_city_package(campaign))
    result = check_json([mail], campaign, unit="梅河口")
    assert result is not None and result["unit"] == "梅河口市教育局"


def test_video_sent_later_for_an_exemplar_is_held_to_the_exemplar_spec(campaign: Campaign) -> None:
    first = complete_city_package(campaign, date=_on(campaign, 5))
    exemplar = first.stars[1]
    spec = campaign.exemplar.video
    wrong = Video(middle_seconds(spec), f"{exemplar.name}新版宣传片.mp4", width=640, height=360)
    second = _follow_up(campaign, stars=[_only_material(exemplar, photos=[], videos=[wrong])])
    result = check_json([build_eml(first), build_eml(second)], campaign)
    assert result is not None
    found = _findings(result, "EXEMPLAR_VIDEO_SPEC")
    assert [f["subject"] for f in found] == [f"百姓学习之星 {exemplar.name}"]
    assert "新版宣传片" in found[0]["evidence"]["file"]
    # its photos were not resent: the first mail's set still counts
    assert "EXEMPLAR_PHOTOS" not in finding_codes(result)
