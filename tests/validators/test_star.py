"""Star rules (validators/rules/star.py): every bound from both sides, numbers from the campaign.

Just inside a bound the rule is silent; just outside it fires once and shows what it measured.
"""

from __future__ import annotations

import pytest

from config import Campaign
from config.campaign import PastStar
from tests.support.dossiers import city_dossier, photo_file, rename_star, set_star_fields, video_file
from tests.validators.rule_bounds import VIDEO_SPEC_CHECKS, VideoSpecCase, fires_once, message, shortfalls, silent

# Photo count: fewer is an error, more a warning ----------------------------------------


def _photos(campaign: Campaign, count: int):
    d = city_dossier(campaign)
    star = d.stars[0]
    id_photo, extra = star.photos[0], [photo_file(f"星/金哲洙/生活照{i}.jpg", 1024, 768) for i in range(count)]
    star.photos = [id_photo, *extra][:count]
    return d


@pytest.mark.parametrize("bound", ["min", "max"])
def test_photo_count_at_its_bound_is_silent(campaign: Campaign, bound: str) -> None:
    silent(_photos(campaign, getattr(campaign.star.photos, bound)), campaign, "STAR_PHOTO_COUNT")


@pytest.mark.parametrize(("bound", "step", "severity"), [("min", -1, "error"), ("max", +1, "warning")])
def test_photo_count_one_past_its_bound_fires(campaign: Campaign, bound: str, step: int, severity: str) -> None:
    spec = campaign.star.photos
    count = getattr(spec, bound) + step
    d = _photos(campaign, count)
    f = fires_once(d, campaign, "STAR_PHOTO_COUNT")
    assert f.severity == severity
    assert f.nominee == d.stars[0].name
    assert f.params["count"] == count
    assert f"照片 {count} 张" in message(f)
    assert len(f.evidence["files"]) == count


# ID photo: ratio, minimum size, colour -------------------------------------------------


def _height_for_ratio_edges(campaign: Campaign) -> int:
    """A height at which both ratio bounds are whole widths, one pixel less still wide enough."""
    spec = campaign.star.id_photo
    for h in range(max(spec.min_height, 1), 100_000):
        lo, hi = spec.min_ratio * h, spec.max_ratio * h
        if abs(lo - round(lo)) < 1e-9 and abs(hi - round(hi)) < 1e-9 and round(lo) - 1 >= spec.min_width:
            return h
    pytest.fail("no whole-pixel photo sits exactly on the configured ratios: test them another way")


def _id_photo(campaign: Campaign, width: int, height: int, *, colour: bool = True):
    d = city_dossier(campaign)
    d.stars[0].photos[0] = photo_file("星/金哲洙/证件照.jpg", width, height, colour=colour)
    return d


def _id_photo_fires(campaign: Campaign, width: int, height: int, prop: str, *, colour: bool = True) -> None:
    f = fires_once(_id_photo(campaign, width, height, colour=colour), campaign, "STAR_ID_PHOTO")
    assert f.severity == "error"
    assert set(shortfalls(f)) == {prop}  # only the bound under test fails
    assert f.params["file"] == "星/金哲洙/证件照.jpg"
    assert f.params["size"] == f"{width}×{height}"
    assert f.params["ratio"] == f"{width / height:.2f}"
    assert f"{width}×{height} 像素" in message(f)


@pytest.mark.parametrize("bound", ["min_ratio", "max_ratio"])
def test_id_photo_ratio_on_its_bound_is_silent(campaign: Campaign, bound: str) -> None:
    h = _height_for_ratio_edges(campaign)
    w = round(getattr(campaign.star.id_photo, bound) * h)
    silent(_id_photo(campaign, w, h), campaign, "STAR_ID_PHOTO")


@pytest.mark.parametrize(("bound", "step"), [("min_ratio", -1), ("max_ratio", +1)])
def test_id_photo_ratio_one_pixel_past_its_bound_fires(campaign: Campaign, bound: str, step: int) -> None:
    h = _height_for_ratio_edges(campaign)
    w = round(getattr(campaign.star.id_photo, bound) * h) + step
    _id_photo_fires(campaign, w, h, "ratio")


def _fits_ratio(campaign: Campaign, width: int, height: int) -> bool:
    spec = campaign.star.id_photo
    return spec.min_ratio <= width / height <= spec.max_ratio and width < height


def test_id_photo_min_width_from_both_sides(campaign: Campaign) -> None:
    spec = campaign.star.id_photo
    h = spec.min_height
    while not (_fits_ratio(campaign, spec.min_width, h) and _fits_ratio(campaign, spec.min_width - 1, h)):
        h += 1
    silent(_id_photo(campaign, spec.min_width, h), campaign, "STAR_ID_PHOTO")
    _id_photo_fires(campaign, spec.min_width - 1, h, "size")


def test_id_photo_min_height_from_both_sides(campaign: Campaign) -> None:
    spec = campaign.star.id_photo
    w = spec.min_width
    while not (_fits_ratio(campaign, w, spec.min_height) and _fits_ratio(campaign, w, spec.min_height - 1)):
        w += 1
    silent(_id_photo(campaign, w, spec.min_height), campaign, "STAR_ID_PHOTO")
    _id_photo_fires(campaign, w, spec.min_height - 1, "size")


def test_id_photo_must_be_colour(campaign: Campaign) -> None:
    spec = campaign.star.id_photo
    h = _height_for_ratio_edges(campaign)
    w = round((spec.min_ratio + spec.max_ratio) / 2 * h)
    silent(_id_photo(campaign, w, h), campaign, "STAR_ID_PHOTO")
    _id_photo_fires(campaign, w, h, "colour", colour=False)


def test_id_photo_landscape_names_its_orientation(campaign: Campaign) -> None:
    spec = campaign.star.id_photo
    side = max(spec.min_width, spec.min_height)
    f = fires_once(_id_photo(campaign, side, side), campaign, "STAR_ID_PHOTO")
    assert "orientation" in shortfalls(f)


# Video: optional; if sent, container and duration with slack ---------------------------


VIDEO = VideoSpecCase(kind="star", code="STAR_VIDEO_SPEC", severity="warning", path="星/金哲洙/视频.mp4")


@pytest.mark.parametrize(("check", "args"), VIDEO_SPEC_CHECKS)
def test_video_spec_bounds(campaign: Campaign, check: str, args: tuple) -> None:
    """Duration from both sides of the slack-widened range, and the container list."""
    getattr(VIDEO, check)(campaign, *args)


def test_video_is_optional(campaign: Campaign) -> None:
    assert not campaign.star.video.required
    d = city_dossier(campaign)
    assert d.stars[0].videos == []
    silent(d, campaign, "STAR_VIDEO_SPEC")


def test_exemplar_video_is_not_held_to_the_star_spec(campaign: Campaign) -> None:
    d = city_dossier(campaign, exemplar_star=True)
    low, _ = VIDEO.duration_bounds(campaign)
    d.stars[1].videos = [video_file("星/朴英子/宣传片.mp4", low - 1)]
    silent(d, campaign, "STAR_VIDEO_SPEC")


# Form, fields, leaders, past honorees --------------------------------------------------


def test_form_missing(campaign: Campaign) -> None:
    d = city_dossier(campaign)
    silent(d, campaign, "STAR_FORM_MISSING")
    d.stars[2].form = None
    assert fires_once(d, campaign, "STAR_FORM_MISSING").nominee == d.stars[2].name


@pytest.mark.parametrize(("where", "label"), [("row", "附表2"), ("form", "附表1")])
def test_field_missing_names_the_place_and_the_field(campaign: Campaign, where: str, label: str) -> None:
    d = city_dossier(campaign)
    silent(d, campaign, "STAR_FIELD_MISSING")
    set_star_fields(d, 0, where=where, phone="")
    f = fires_once(d, campaign, "STAR_FIELD_MISSING")
    assert f.evidence["missing"] == {label: ["联系电话"]}
    assert "联系电话" in message(f)


@pytest.mark.parametrize(
    ("title", "matched"),
    [("某县人民政府 副县长", "县长"), ("吉林省教育厅 厅长", "厅长"), ("吉林市教育局 局长", "市教育局 局长")],
)
def test_leader_titles_are_flagged(campaign: Campaign, title: str, matched: str) -> None:
    d = city_dossier(campaign)
    set_star_fields(d, 0, employer_title=title)
    f = fires_once(d, campaign, "STAR_LEADER")
    assert (f.params["title"], f.params["matched"]) == (title, matched)


@pytest.mark.parametrize(
    "title", ["龙井市某村 党支部书记", "延吉市某社区 书记", "某公司 科长", "汪清县教育局 局长", "松原市长岭县 教师"]
)
def test_leader_exclusions_are_not_flagged(campaign: Campaign, title: str) -> None:
    d = city_dossier(campaign)
    set_star_fields(d, 0, employer_title=title)
    silent(d, campaign, "STAR_LEADER")


def test_previously_honored_by_name(campaign: Campaign) -> None:
    past = campaign.past_honorees.stars[0]
    d = city_dossier(campaign)
    silent(d, campaign, "STAR_PREVIOUSLY_HONORED")
    rename_star(d, 0, past.name)
    f = fires_once(d, campaign, "STAR_PREVIOUSLY_HONORED")
    assert (f.params["year"], f.evidence["past_unit"]) == (past.year, past.unit)


def test_previously_honored_id_number_tells_namesakes_apart(campaign: Campaign) -> None:
    d = city_dossier(campaign)
    star = rename_star(d, 0, "同名人")
    own_id = star.form.fields.id_number
    honoured = campaign.model_copy(
        update={
            "past_honorees": campaign.past_honorees.model_copy(
                update={"stars": [PastStar(name="同名人", year=campaign.year - 1, id_number=own_id.lower())]}
            )
        }
    )
    fires_once(d, honoured, "STAR_PREVIOUSLY_HONORED")  # same person, id case aside
    star.form.fields.id_number = own_id[:-2] + "00"
    silent(d, honoured, "STAR_PREVIOUSLY_HONORED")  # a namesake
