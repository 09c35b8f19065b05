"""Every finding code fires on a generated package sent through `nomdesk check`, and a
complete package draws none.

Each variant is the complete city package with one thing broken, written as a real .eml
(GBK-named zip, ffmpeg videos, python-docx/openpyxl forms, Pillow photos) and read by the
whole intake. Most run in-process (same code path as the command, without an interpreter
start-up each); a few go through the real command to pin the exit code as well. A code
of the registry without a variant here fails `test_every_code_has_a_variant`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from config import Campaign
from tests.support.dossiers import PROJECT_NAMES, STAR_NAMES
from tests.support.packages import (
    Extra,
    PackageSpec,
    Photo,
    Video,
    build_eml,
    build_folder,
    check_json,
    complete_city_package,
    exemplar_video,
    finding_codes,
    mail_date,
    project_spec,
    run_nomdesk,
    star_spec,
)
from validators import REGISTRY

# Codes that need the service: a contact check and the office's paper-copy records.
SERVICE_ONLY = {"UNIT_UNKNOWN", "PAPER_PENDING"}
# Codes about one mail against an earlier one: their packages are in test_check_merge.py.
SEVERAL_MAILS = {"REGISTER_OMITS"}
# Variants also run through the real command, to check the exit status with the findings.
THROUGH_CLI = {"LATE", "STAR_PHOTO_COUNT", "ARCHIVE_REJECTED", "LINK_PENDING"}
UNIT = "延边朝鲜族自治州教育局"
LINK = "https://mail.qq.com/cgi-bin/ftnExs_download?k=5d3a6b2c&t=exs_ftn_download&code=7f1e"


@dataclass
class Variant:
    change: Callable[[PackageSpec, Campaign], PackageSpec | None]
    severity: str
    subject: Callable[[Campaign], str]  # a part of the finding's subject: the nominee, file or unit


def _star(i: int) -> Callable[[Campaign], str]:
    return lambda c: f"百姓学习之星 {STAR_NAMES[i]}"


def _project(i: int) -> Callable[[Campaign], str]:
    return lambda c: f"终身学习品牌项目 {PROJECT_NAMES[i]}"


def _text(text: str) -> Callable[[Campaign], str]:
    return lambda c: text


def _replace_star(i: int, make: Callable[[Campaign], Any]) -> Callable[[PackageSpec, Campaign], None]:
    def change(p: PackageSpec, c: Campaign) -> None:
        p.stars[i] = make(c)

    return change


def _late(p: PackageSpec, c: Campaign) -> None:
    p.date = mail_date(dt.datetime.combine(c.deadline_end.date(), dt.time(0, 1)))


def _two_exemplar_stars(p: PackageSpec, c: Campaign) -> None:
    p.stars[3] = star_spec(c, 3, STAR_NAMES[3], exemplar=True)


def _college(p: PackageSpec, c: Campaign) -> PackageSpec:
    return dataclasses.replace(
        p,
        unit="吉林大学",
        short="吉林大学",
        sender="jwc_jlu@jlu.edu.cn",
        sender_name="吉林大学教务处",
        subject="吉林大学报送推荐材料",
        zip_name="吉林大学推荐材料.zip",
        root="吉林大学推荐材料",
    )


def _unregistered(p: PackageSpec, c: Campaign) -> PackageSpec:
    """A form and folder for someone 附表2 does not list; one more star keeps the quota met."""
    spec = complete_city_package(c, stars=c.quotas.stars.min + 1)
    spec.stars[2].registered = False
    return spec


def _duplicate_id(p: PackageSpec, c: Campaign) -> None:
    p.stars[3].form_fields["id_number"] = p.stars[0].fields["id_number"]


def _star_video(p: PackageSpec, c: Campaign) -> None:
    spec = c.star.video
    p.stars[0].videos = [Video(spec.min_seconds - c.tolerances.duration_slack_seconds - 28, "金哲洙事迹视频.mp4")]


def _project_photos(p: PackageSpec, c: Campaign) -> None:
    p.projects[0].photos = [
        Photo(640, 480, f"活动照片{i}.jpg", folder="照片") for i in range(1, c.project.photos.max + 2)
    ]


def _project_video(p: PackageSpec, c: Campaign) -> None:
    spec = c.project.video
    p.projects[0].videos = [Video(spec.min_seconds - 60, "海兰江畔宣传视频.mp4")]


def _too_young(p: PackageSpec, c: Campaign) -> None:
    year, month = c.deadline.year - c.project.min_age_years, c.deadline.month + 1
    if month > 12:
        year, month = year + 1, month - 12
    p.projects[0].fields["founded"] = f"{year}年{month}月"


def _small(p: PackageSpec, c: Campaign) -> None:
    scale = c.project.scale
    p.projects[0].fields["people_per_year"] = f"{scale.min_people - 1}人"
    p.projects[0].fields["participations_per_year"] = f"{scale.min_participations - 1}人次"


def _named_as_unit(p: PackageSpec, c: Campaign) -> None:
    project = project_spec(c, 0, "龙井市职业教育中心终身学习项目")
    p.projects[0] = project


def _past_project(p: PackageSpec, c: Campaign) -> None:
    p.projects[0] = project_spec(c, 0, c.past_honorees.projects[0].name)


def _past_star(p: PackageSpec, c: Campaign) -> None:
    p.stars[0] = star_spec(c, 0, c.past_honorees.stars[0].name)


def _exemplar_photos(p: PackageSpec, c: Campaign) -> None:
    star = p.stars[1]
    star.photos = [ph for ph in star.photos if ph.folder != "典范材料"]


def _exemplar_video_size(p: PackageSpec, c: Campaign) -> None:
    p.stars[1].videos = [exemplar_video(c, "朴英子典型事迹宣传片.mp4", width=640, height=360)]


def _broken_photo(p: PackageSpec, c: Campaign) -> None:
    p.stars[3].photos[1].broken = True


def _set(path: str, **values: Any) -> Callable[[PackageSpec, Campaign], None]:
    """Set attributes on a part of the spec named by a dotted path ("stars.0")."""

    def change(p: PackageSpec, c: Campaign) -> None:
        target: Any = p
        for part in path.split(".") if path else []:
            target = target[int(part)] if part.isdigit() else getattr(target, part)
        for key, value in values.items():
            if isinstance(target, dict):
                target[key] = value
            else:
                setattr(target, key, value)

    return change


def _extra(extra: Extra) -> Callable[[PackageSpec, Campaign], None]:
    def change(p: PackageSpec, c: Campaign) -> None:
        p.extras.append(extra)

    return change


UNIT_SUBJECT = _text(f"推荐单位 {UNIT}")

VARIANTS: dict[str, Variant] = {
    "LATE": Variant(_late, "warning", lambda c: "邮件 延边州教育局报送"),
    "STAR_QUOTA": Variant(lambda p, c: complete_city_package(c, stars=c.quotas.stars.max + 1), "error", UNIT_SUBJECT),
    "PROJECT_QUOTA": Variant(
        lambda p, c: complete_city_package(c, projects=c.quotas.projects.min - 1), "warning", UNIT_SUBJECT
    ),
    "STAR_TYPE_COVERAGE": Variant(
        lambda p, c: [s.fields.update(group=c.star.groups[0]) for s in p.stars] and None, "info", UNIT_SUBJECT
    ),
    "PROJECT_TYPE_COVERAGE": Variant(
        lambda p, c: [x.fields.update(category=c.project.categories[0]) for x in p.projects] and None,
        "info",
        UNIT_SUBJECT,
    ),
    "EXEMPLAR_LIMIT": Variant(_two_exemplar_stars, "error", UNIT_SUBJECT),
    "EXEMPLAR_NOT_CITY": Variant(_college, "error", _text("推荐单位 吉林大学")),
    # Without 附表2 there is no 备注 to mark an exemplar: a package without one, so the
    # missing table is the only thing wrong.
    "REGISTER_MISSING": Variant(
        lambda p, c: complete_city_package(c, exemplar_star=None, star_register=False), "error", _text("附表2")
    ),
    "REGISTER_MISMATCH": Variant(_unregistered, "error", _star(2)),
    "DUPLICATE_NOMINEE": Variant(_duplicate_id, "error", _star(0)),
    "STAR_FORM_MISSING": Variant(_set("stars.0", form=False), "error", _star(0)),
    "STAR_FIELD_MISSING": Variant(_set("stars.3.row", phone=None), "error", _star(3)),
    "STAR_PHOTO_COUNT": Variant(lambda p, c: _set("stars.0", photos=p.stars[0].photos[:1])(p, c), "error", _star(0)),
    "STAR_ID_PHOTO": Variant(_set("stars.0.photos.0", width=300, height=420), "error", _star(0)),
    "STAR_VIDEO_SPEC": Variant(_star_video, "warning", _star(0)),
    "STAR_LEADER": Variant(_set("stars.0.fields", employer_title="吉林市教育局 局长"), "warning", _star(0)),
    "STAR_PREVIOUSLY_HONORED": Variant(_past_star, "warning", lambda c: c.past_honorees.stars[0].name),
    "PROJECT_FORM_MISSING": Variant(_set("projects.1", form=False), "error", _project(1)),
    "PROJECT_FIELD_MISSING": Variant(_set("projects.0.form_fields", leader=None), "error", _project(0)),
    "PROJECT_SUMMARY_MISSING": Variant(_set("projects.0", summary_chars=None), "error", _project(0)),
    "PROJECT_SUMMARY_LENGTH": Variant(
        lambda p, c: _set("projects.0", summary_chars=c.project.summary.min_chars - 300)(p, c), "warning", _project(0)
    ),
    "PROJECT_PHOTO_COUNT": Variant(_project_photos, "error", _project(0)),
    "PROJECT_VIDEO_MISSING": Variant(_set("projects.0", videos=[]), "error", _project(0)),
    "PROJECT_VIDEO_SPEC": Variant(_project_video, "error", _project(0)),
    "PROJECT_AGE": Variant(_too_young, "error", _project(0)),
    "PROJECT_SCALE": Variant(_small, "warning", _project(0)),
    "PROJECT_NAMED_AS_UNIT": Variant(_named_as_unit, "warning", _text("龙井市职业教育中心终身学习项目")),
    "PROJECT_PREVIOUSLY_HONORED": Variant(_past_project, "warning", lambda c: c.past_honorees.projects[0].name),
    "EXEMPLAR_PHOTOS": Variant(_exemplar_photos, "error", _star(1)),
    "EXEMPLAR_VIDEO_MISSING": Variant(_set("stars.1", videos=[]), "error", _star(1)),
    "EXEMPLAR_VIDEO_SPEC": Variant(_exemplar_video_size, "error", _star(1)),
    "FILE_UNREADABLE": Variant(_broken_photo, "error", _text("李春花生活照1.jpg")),
    "FILE_UNSUPPORTED": Variant(_extra(Extra("pages", "工作说明.pages")), "warning", _text("工作说明.pages")),
    "FILE_UNMATCHED": Variant(_extra(Extra("photo", "IMG_0001.jpg")), "warning", _text("IMG_0001.jpg")),
    "ARCHIVE_ENCRYPTED": Variant(
        _extra(Extra("encrypted_zip", "补充照片.zip", attach=True)), "error", _text("补充照片.zip")
    ),
    "ARCHIVE_PART_MISSING": Variant(
        _extra(Extra("first_volume", "补充照片.7z.001", attach=True)), "error", _text("补充照片.7z")
    ),
    "ARCHIVE_REJECTED": Variant(
        _extra(Extra("traversal_zip", "其他材料.zip", attach=True)), "error", _text("其他材料.zip")
    ),
    "LINK_PENDING": Variant(
        lambda p, c: _set("", body=p.body + f"\n\n从QQ邮箱发来的超大附件\n宣传片.mp4 (356.2M)\n下载：{LINK}")(p, c),
        "info",
        _text(LINK),
    ),
}


def variant_spec(code: str, campaign: Campaign) -> PackageSpec:
    spec = complete_city_package(campaign)
    changed = VARIANTS[code].change(spec, campaign)
    return changed if isinstance(changed, PackageSpec) else spec


@pytest.fixture(scope="module")
def results(campaign: Campaign) -> Callable[[str], dict[str, Any]]:
    """The checked JSON of each variant, built and checked once per test session (worker)."""
    memo: dict[str, dict[str, Any]] = {}

    def get(code: str) -> dict[str, Any]:
        if code not in memo:
            result = check_json([build_eml(variant_spec(code, campaign))], campaign)
            assert result is not None
            memo[code] = result
        return memo[code]

    return get


def test_every_code_has_a_variant() -> None:
    assert sorted(set(REGISTRY.codes()) - SERVICE_ONLY - SEVERAL_MAILS - set(VARIANTS)) == []
    assert sorted(set(VARIANTS) - set(REGISTRY.codes())) == []


# Known intake gaps: the variant is right, intake does not report it yet. Strict, so the
# test fails (XPASS) as soon as intake is fixed and the mark must go.
KNOWN_GAPS: dict[str, str] = {}  # code -> why intake cannot make it fire yet (strict xfail)


def _cases() -> list[Any]:
    return [
        pytest.param(code, marks=pytest.mark.xfail(reason=KNOWN_GAPS[code], strict=True))
        if code in KNOWN_GAPS
        else code
        for code in sorted(VARIANTS)
    ]


@pytest.mark.parametrize("code", _cases())
def test_code_fires_on_generated_package(code: str, campaign: Campaign, results) -> None:
    variant = VARIANTS[code]
    result = results(code)
    found = [f for f in result["findings"] if f["code"] == code]
    # One thing broken, one code found: nothing else in the package is disturbed.
    assert finding_codes(result) == {code}, [(f["code"], f["subject"]) for f in result["findings"]]
    subject = variant.subject(campaign)
    assert any(f["severity"] == variant.severity and subject in f["subject"] for f in found), found
    for f in found:
        assert f["message_zh"] and "？" not in f["message_zh"], f


@pytest.mark.parametrize("code", sorted(THROUGH_CLI))
def test_command_exit_status_follows_findings(code: str, campaign: Campaign) -> None:
    run = run_nomdesk("check", build_eml(variant_spec(code, campaign)), "--json")
    result = run.json
    assert code in finding_codes(result)
    has_error = any(f["severity"] == "error" for f in result["findings"])
    assert run.code == (1 if has_error else 0), run.stderr
    assert has_error == (VARIANTS[code].severity == "error")


def test_complete_package_is_silent(campaign: Campaign) -> None:
    run = run_nomdesk("check", build_eml(complete_city_package(campaign)), "--json")
    assert run.code == 0, run.stdout[-2000:] + run.stderr
    result = run.json
    assert result["findings"] == []
    assert result["unit"] == UNIT
    assert [s["name"] for s in result["stars"]] == list(STAR_NAMES[: campaign.quotas.stars.min])
    assert [p["name"] for p in result["projects"]] == list(PROJECT_NAMES[: campaign.quotas.projects.min])
    assert [s["name"] for s in result["stars"] if s["exemplar"]] == [STAR_NAMES[1]]
    assert [p["name"] for p in result["projects"] if p["exemplar"]] == [PROJECT_NAMES[2]]


LAYOUTS: dict[str, dict[str, Any]] = {
    "flat_zip": {"layout": "flat"},
    "loose_attachments": {"zipped": False},
    "xls_registers": {"register_format": "xls"},
}


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_complete_package_in_other_layouts_is_silent(layout: str, campaign: Campaign) -> None:
    spec = complete_city_package(campaign, **LAYOUTS[layout])
    result = check_json([build_eml(spec)], campaign)
    assert result is not None
    assert result["findings"] == []
    assert len(result["stars"]) == campaign.quotas.stars.min


def test_complete_folder_is_silent(campaign: Campaign, tmp_path) -> None:
    folder = build_folder(complete_city_package(campaign), tmp_path / "延边州")
    result = check_json([folder], campaign)
    assert result is not None
    assert result["unit"] == UNIT
    assert result["findings"] == []
