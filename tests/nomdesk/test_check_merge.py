"""Resubmissions (RULES.md "Resubmissions") and which unit a package is from, end to end.

Several PATHs are one unit's mails in order of arrival. Nothing a unit sent disappears
unnamed: a form, video or summary replaces the earlier one, photos add (the same bytes
count once, the same name replaces that photo, a complete new set replaces the old set and
names what it set aside), tables merge by nominee (one left out stays, REGISTER_OMITS),
withdrawal is explicit ("撤回 姓名"), and LATE names only the mail after the deadline.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from config import Campaign
from tests.support.dossiers import PROJECT_NAMES, STAR_NAMES
from tests.support.packages import (
    Extra,
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


def _files_of(result: dict[str, Any], index: int) -> dict[str, dict[str, Any]]:
    """The receipt's "本次收到" of submission `index`: each file's name and where it went."""
    return {f["path"].rsplit("/", 1)[-1]: f for f in result["submissions"][index]["files"]}


def _changes(result: dict[str, Any], index: int, action: str) -> list[dict[str, Any]]:
    return [c for c in result["submissions"][index]["changes"] if c["action"] == action]


def _star(result: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in result["stars"] if s["name"] == name)


def _one_photo_short(campaign: Campaign) -> tuple[PackageSpec, StarSpec]:
    """A first package whose first star sent only the ID photo (one short of the set)."""
    first = complete_city_package(campaign, date=_on(campaign, 5))
    star = first.stars[0]
    star.photos = star.photos[:1]
    return first, star


def test_a_missing_photo_sent_alone_completes_the_set(campaign: Campaign) -> None:
    first, star = _one_photo_short(campaign)
    alone = check_json([build_eml(first)], campaign)
    assert alone is not None and [f["evidence"]["count"] for f in _findings(alone, "STAR_PHOTO_COUNT")] == [1]

    missing = Photo(641, 481, f"{star.name}生活照1.jpg")
    second = _follow_up(campaign, stars=[_only_material(star, photos=[missing])])
    result = check_json([build_eml(first), build_eml(second)], campaign)
    assert result is not None
    assert result["findings"] == [], result["findings"]
    photos = _star(result, star.name)["photos"]
    assert [p.rsplit("/", 1)[-1] for p in photos] == [f"{star.name}证件照.jpg", missing.name]
    placed = _files_of(result, 1)[missing.name]
    assert (placed["outcome"], placed["nominee"], placed["item"]) == ("added", star.name, "photos")


def test_the_same_photo_sent_twice_counts_once(campaign: Campaign) -> None:
    first, star = _one_photo_short(campaign)
    again = dataclasses.replace(star.photos[0], name=f"{star.name}-证件照（再发一次）.jpg")
    second = _follow_up(campaign, stars=[_only_material(star, photos=[again])])
    result = check_json([build_eml(first), build_eml(second)], campaign)
    assert result is not None
    assert len(_star(result, star.name)["photos"]) == 1
    assert [f["evidence"]["count"] for f in _findings(result, "STAR_PHOTO_COUNT")] == [1]
    assert _files_of(result, 1)[again.name]["outcome"] == "same"


def test_a_photo_of_the_same_name_replaces_that_photo(campaign: Campaign) -> None:
    first = complete_city_package(campaign, date=_on(campaign, 5))
    star = first.stars[0]
    retake = Photo(643, 483, star.photos[1].name)
    second = _follow_up(campaign, stars=[_only_material(star, photos=[retake])])
    result = check_json([build_eml(first), build_eml(second)], campaign)
    assert result is not None and result["findings"] == [], result["findings"]
    photos = _star(result, star.name)["photos"]
    assert len(photos) == 2 and "补充材料" in photos[1]
    placed = _files_of(result, 1)[retake.name]
    assert placed["outcome"] == "replaced" and placed["replaced"][0].endswith(star.photos[1].name)


def test_a_resent_complete_photo_set_replaces_the_old_and_names_what_it_set_aside(campaign: Campaign) -> None:
    first = complete_city_package(campaign, date=_on(campaign, 5))
    star = first.stars[0]
    width, height = star.photos[0].width, star.photos[0].height
    new_set = [Photo(width + 2, height + 2, f"{star.name}新证件照.jpg"), Photo(645, 485, f"{star.name}新生活照.jpg")]
    second = _follow_up(campaign, stars=[_only_material(star, photos=new_set)])
    result = check_json([build_eml(first), build_eml(second)], campaign)
    assert result is not None and result["findings"] == [], result["findings"]
    assert [p.rsplit("/", 1)[-1] for p in _star(result, star.name)["photos"]] == [p.name for p in new_set]
    (aside,) = _changes(result, 1, "set_aside")
    assert aside["nominee"] == star.name
    assert sorted(p.rsplit("/", 1)[-1] for p in aside["paths"]) == sorted(p.name for p in star.photos)


def test_two_life_photos_sent_to_a_star_with_only_the_id_photo_keep_the_id_photo(campaign: Campaign) -> None:
    first, star = _one_photo_short(campaign)
    life = [Photo(701, 501, f"{star.name}生活照A.jpg"), Photo(703, 503, f"{star.name}生活照B.jpg")]
    second = _follow_up(campaign, stars=[_only_material(star, photos=life)])
    result = check_json([build_eml(first), build_eml(second)], campaign)
    assert result is not None
    names = [p.rsplit("/", 1)[-1] for p in _star(result, star.name)["photos"]]
    assert names == [f"{star.name}证件照.jpg", *(p.name for p in life)]
    assert finding_codes(result) == {"STAR_PHOTO_COUNT"}  # one too many (a warning), no ID-photo error
    assert [f["severity"] for f in _findings(result, "STAR_PHOTO_COUNT")] == ["warning"]
    assert _changes(result, 1, "set_aside") == []


def test_a_one_row_corrected_register_updates_that_row_and_withdraws_nobody(campaign: Campaign) -> None:
    first = complete_city_package(campaign, date=_on(campaign, 5))
    exemplar = first.stars[1]
    fixed = dataclasses.replace(first.stars[3], form=False, photos=[], videos=[])
    fixed.fields = {**fixed.fields, "phone": "13843100999"}
    second = _follow_up(campaign, subject="延边州更正登记表", star_register=True, stars=[fixed])

    result = check_json([build_eml(first), build_eml(second)], campaign)
    assert result is not None
    assert [s["name"] for s in result["stars"]] == [s.name for s in first.stars]
    assert _star(result, exemplar.name)["exemplar"] is True
    assert result["withdrawn"] == []
    assert [c["nominee"] for c in _changes(result, 1, "row_updated")] == [fixed.name]
    (omits,) = _findings(result, "REGISTER_OMITS")
    assert omits["severity"] == "warning"
    assert sorted(omits["evidence"]["names"]) == sorted(s.name for s in first.stars if s.name != fixed.name)
    assert "撤回" in omits["hint_zh"]
    # the error count did not go down by losing people: the others' forms and photos still count
    assert all(s["form"] and s["photos"] for s in result["stars"])


def test_a_table_that_leaves_out_two_names_names_both(campaign: Campaign) -> None:
    first = complete_city_package(campaign, stars=campaign.quotas.stars.min + 2, date=_on(campaign, 5))
    left_out = [first.stars[4].name, first.stars[-1].name]
    kept = [dataclasses.replace(s, form=False, photos=[], videos=[]) for s in first.stars if s.name not in left_out]
    second = _follow_up(campaign, subject="延边州登记表（修改）", star_register=True, stars=kept)
    result = check_json([build_eml(first), build_eml(second)], campaign)
    assert result is not None
    assert {s["name"] for s in result["stars"]} >= set(left_out)
    (omits,) = _findings(result, "REGISTER_OMITS")
    assert sorted(omits["evidence"]["names"]) == sorted(left_out)
    assert all(name in omits["message_zh"] for name in left_out)
    assert finding_codes(result) == {"REGISTER_OMITS"}
    # a third, complete table makes the warning go away
    third = _follow_up(campaign, subject="延边州登记表（完整）", star_register=True, stars=first.stars)
    later = check_json([build_eml(first), build_eml(second), build_eml(third)], campaign)
    assert later is not None and later["findings"] == [], later["findings"]


def test_withdrawal_by_mail_subject_takes_the_nominee_out_and_keeps_the_rest(campaign: Campaign) -> None:
    first = complete_city_package(campaign, stars=campaign.quotas.stars.min + 1, date=_on(campaign, 5))
    gone = first.stars[-1].name
    second = _follow_up(campaign, subject=f"撤回 {gone}", body="您好，我单位撤回该推荐人选。", stars=[])
    result = check_json([build_eml(first), build_eml(second)], campaign)
    assert result is not None
    assert gone not in [s["name"] for s in result["stars"]]
    assert result["withdrawn"] == [{"name": gone, "kind": "star", "by": "unit"}]
    assert [c["nominee"] for c in _changes(result, 1, "withdrawn")] == [gone]
    assert result["findings"] == [], result["findings"]
    # a later file for the withdrawn nominee is kept but not counted, and the receipt says so
    late_photo = Photo(647, 487, f"{gone}补充照片.jpg")
    star = next(s for s in first.stars if s.name == gone)
    third = _follow_up(campaign, stars=[_only_material(star, photos=[late_photo])])
    after = check_json([build_eml(first), build_eml(second), build_eml(third)], campaign)
    assert after is not None and gone not in [s["name"] for s in after["stars"]]
    assert _files_of(after, 2)[late_photo.name]["outcome"] == "withdrawn_nominee"
    # a later full table that still lists them does not bring them back, and says so
    fourth = _follow_up(campaign, subject="延边州登记表", star_register=True, stars=first.stars)
    listed = check_json([build_eml(m) for m in (first, second, third, fourth)], campaign)
    assert listed is not None and gone not in [s["name"] for s in listed["stars"]]
    assert [c["nominee"] for c in _changes(listed, 3, "withdrawn_listed")] == [gone]


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


def _renamed(star: StarSpec, name: str, **changes: Any) -> StarSpec:
    return dataclasses.replace(star, name=name, fields={**star.fields, "name": name}, **changes)


def test_every_middle_dot_form_is_the_same_name(campaign: Campaign) -> None:
    """RULES.md "Matching files to nominees": 阿依古丽·买买提 and 阿依古丽・买买提 are one person."""
    first = complete_city_package(campaign, date=_on(campaign, 5))
    first.stars[0] = _renamed(first.stars[0], "阿依古丽·买买提")
    first.stars[0].photos = [dataclasses.replace(first.stars[0].photos[0], name="证件照.jpg")]
    # the corrected table spells the dot as U+30FB; the missing photo comes alone, its name spelt with U+2219
    table = [dataclasses.replace(s, form=False, photos=[], videos=[]) for s in first.stars]
    table[0] = _renamed(table[0], "阿依古丽・买买提")
    second = _follow_up(campaign, subject="延边州更正登记表", star_register=True, stars=table)
    missing = _renamed(first.stars[0], "阿依古丽∙买买提", form=False, registered=False)
    missing.photos = [Photo(651, 491, "生活照.jpg")]
    third = _follow_up(campaign, zipped=False, stars=[missing])

    result = check_json([build_eml(first), build_eml(second), build_eml(third)], campaign)
    assert result is not None
    assert [s["name"] for s in result["stars"]] == ["阿依古丽·买买提", *STAR_NAMES[1 : len(first.stars)]]
    assert _changes(result, 1, "nominated") == [] and _changes(result, 1, "omitted") == []
    assert _files_of(result, 2)["阿依古丽∙买买提生活照.jpg"]["outcome"] == "added"
    assert result["findings"] == [], result["findings"]


def test_a_retake_of_a_damaged_photo_under_another_name_resolves_it(campaign: Campaign) -> None:
    """The reply says a photo cannot be opened; the unit sends it again, as WeCom names it: the error goes."""
    first = complete_city_package(campaign, date=_on(campaign, 5))
    star = first.stars[0]
    star.photos[1] = dataclasses.replace(star.photos[1], broken=True)
    before = check_json([build_eml(first)], campaign)
    assert before is not None and finding_codes(before) == {"FILE_UNREADABLE"}

    retake = Photo(653, 493, f"{star.name}生活照（重发）.jpg")
    second = _follow_up(campaign, stars=[_only_material(star, photos=[retake])])
    result = check_json([build_eml(first), build_eml(second)], campaign)
    assert result is not None and result["findings"] == [], result["findings"]
    assert [p.rsplit("/", 1)[-1] for p in _star(result, star.name)["photos"]] == [star.photos[0].name, retake.name]
    placed = _files_of(result, 1)[retake.name]
    assert placed["outcome"] == "replaced" and placed["replaced"][0].endswith(star.photos[1].name)


def test_a_whole_set_sent_again_with_the_id_photo_unchanged_replaces_the_set(campaign: Campaign) -> None:
    first = complete_city_package(campaign, date=_on(campaign, 5))
    star = first.stars[0]
    again = [star.photos[0], Photo(655, 495, f"{star.name}生活照（更换）.jpg")]
    second = _follow_up(campaign, stars=[_only_material(star, photos=again)])
    result = check_json([build_eml(first), build_eml(second)], campaign)
    assert result is not None and result["findings"] == [], result["findings"]
    assert [p.rsplit("/", 1)[-1] for p in _star(result, star.name)["photos"]] == [p.name for p in again]
    (aside,) = _changes(result, 1, "set_aside")
    assert [p.rsplit("/", 1)[-1] for p in aside["paths"]] == [star.photos[1].name]


def test_the_same_package_sent_twice_changes_nothing(campaign: Campaign) -> None:
    """A unit that heard nothing sends its zip again: the receipt says every file was already here."""
    first = complete_city_package(campaign, date=_on(campaign, 5))
    again = dataclasses.replace(first, date=_on(campaign, 4))
    alone = check_json([build_eml(first)], campaign)
    result = check_json([build_eml(first), build_eml(again)], campaign)
    assert alone is not None and result is not None and result["findings"] == [], result["findings"]
    outcomes = {f["path"].rsplit("/", 1)[-1]: f["outcome"] for f in result["submissions"][1]["files"]}
    assert set(outcomes.values()) == {"same", "register"}, outcomes
    assert result["submissions"][1]["changes"] == []
    assert result["stars"] == alone["stars"] and result["projects"] == alone["projects"]


def test_a_photo_that_could_not_be_placed_is_settled_when_sent_again_named(campaign: Campaign) -> None:
    """WeCom sends "IMG_1234.jpg"; the reply asks for the name; the same photo comes back named."""
    first, star = _one_photo_short(campaign)
    unnamed = _follow_up(campaign, zipped=False, extras=[Extra("photo", "IMG_1234.jpg", attach=True)])
    again = Extra("photo", f"{star.name}生活照.jpg", attach=True)  # the same bytes
    named = _follow_up(campaign, zipped=False, date=_on(campaign, 1), extras=[again])
    mails = [build_eml(first), build_eml(unnamed)]
    before = check_json(mails, campaign)
    assert before is not None and "FILE_UNMATCHED" in finding_codes(before)

    result = check_json([*mails, build_eml(named)], campaign)
    assert result is not None and result["findings"] == [], result["findings"]
    assert _files_of(result, 2)[f"{star.name}生活照.jpg"]["outcome"] == "added"
    assert _files_of(result, 1)["IMG_1234.jpg"]["outcome"] == "unplaced"  # what that mail did stays told
