"""Exemplar rules (validators/rules/exemplar.py): every bound from both sides, numbers from the campaign.

Just inside a bound the rule is silent; just outside it fires once and shows what it measured.
"""

from __future__ import annotations

import pytest

from config import Campaign
from config.campaign import UnitKind
from tests.support.dossiers import city_dossier, photo_file, project_entry, star_entry, video_file
from tests.validators.rule_bounds import fires_once, message, other_container, shortfalls, silent
from validators import is_exemplar_mark
from validators.measure import format_duration, format_fps

# How many exemplars a unit may mark --------------------------------------------------


def _exemplars(campaign: Campaign, stars: int = 0, projects: int = 0):
    d = city_dossier(campaign)
    for i in range(stars):
        d.stars[i] = star_entry(campaign, i, d.stars[i].name, exemplar=True)
    for i in range(projects):
        d.projects[i] = project_entry(campaign, i, d.projects[i].name, exemplar=True)
    d.star_register.star_rows = [s.row for s in d.stars]
    d.project_register.project_rows = [p.row for p in d.projects]
    return d


@pytest.mark.parametrize(("kind", "limit_key"), [("stars", "exemplar_stars"), ("projects", "exemplar_projects")])
def test_exemplar_limit_from_both_sides(campaign: Campaign, kind: str, limit_key: str) -> None:
    limit = getattr(campaign.quotas, limit_key)
    silent(_exemplars(campaign, **{kind: limit}), campaign, "EXEMPLAR_LIMIT")
    d = _exemplars(campaign, **{kind: limit + 1})
    f = fires_once(d, campaign, "EXEMPLAR_LIMIT")
    assert (f.params["count"], f.params["limit"]) == (limit + 1, limit)
    entries = d.stars if kind == "stars" else d.projects
    assert f.evidence["names"] == [e.name for e in entries[: limit + 1]]


@pytest.mark.parametrize("kind", list(UnitKind))
def test_exemplar_only_from_the_configured_unit_kinds(campaign: Campaign, kind: UnitKind) -> None:
    d = city_dossier(campaign, exemplar_star=True)
    d.unit_kind = kind.value
    if kind in campaign.quotas.exemplar_unit_kinds:
        silent(d, campaign, "EXEMPLAR_NOT_CITY")
    else:
        f = fires_once(d, campaign, "EXEMPLAR_NOT_CITY")
        assert f.evidence == {"names": [d.stars[1].name], "unit_kind": kind.value}
    plain = city_dossier(campaign)
    plain.unit_kind = kind.value
    silent(plain, campaign, "EXEMPLAR_NOT_CITY")  # no mark, nothing to say


# Photos: the normal count plus the extra photos ----------------------------------------


def _photo_range(campaign: Campaign, kind: str) -> tuple[int, int]:
    normal = campaign.star.photos if kind == "star" else campaign.project.photos
    extra = campaign.exemplar.extra_photos
    return normal.min + extra.min, normal.max + extra.max


def _exemplar_photos(campaign: Campaign, kind: str, count: int):
    if kind == "star":
        d = city_dossier(campaign, exemplar_star=True)
        entry = d.stars[1]
        entry.photos = (entry.photos[:1] + [photo_file(f"星/朴英子/{i}.jpg", 1024, 768) for i in range(count)])[:count]
    else:
        d = city_dossier(campaign, exemplar_project=True)
        entry = d.projects[2]
        entry.photos = [photo_file(f"项目/长鼓舞/{i}.jpg", 1024, 768) for i in range(count)]
    return d, entry


@pytest.mark.parametrize("kind", ["star", "project"])
@pytest.mark.parametrize("end", [0, 1])
def test_exemplar_photos_at_the_bound_are_silent(campaign: Campaign, kind: str, end: int) -> None:
    d, _ = _exemplar_photos(campaign, kind, _photo_range(campaign, kind)[end])
    silent(d, campaign, "EXEMPLAR_PHOTOS")


@pytest.mark.parametrize("kind", ["star", "project"])
@pytest.mark.parametrize(("end", "step"), [(0, -1), (1, +1)])
def test_exemplar_photos_one_past_the_bound_fire(campaign: Campaign, kind: str, end: int, step: int) -> None:
    low, high = _photo_range(campaign, kind)
    count = (low, high)[end] + step
    d, entry = _exemplar_photos(campaign, kind, count)
    f = fires_once(d, campaign, "EXEMPLAR_PHOTOS")
    assert f.severity == "error" and f.nominee == entry.name
    assert (f.params["count"], f.params["required"]) == (count, f"{low}-{high}")
    assert f"照片 {count} 张，要求 {low}-{high} 张" in message(f)
    # The exemplar's count replaces the normal one.
    silent(d, campaign, "STAR_PHOTO_COUNT")
    silent(d, campaign, "PROJECT_PHOTO_COUNT")


# Video: required, and its full technical spec ------------------------------------------


@pytest.mark.parametrize("kind", ["star", "project"])
def test_exemplar_video_required(campaign: Campaign, kind: str) -> None:
    d = city_dossier(campaign, exemplar_star=kind == "star", exemplar_project=kind == "project")
    entry = d.stars[1] if kind == "star" else d.projects[2]
    silent(d, campaign, "EXEMPLAR_VIDEO_MISSING")
    entry.videos = []
    f = fires_once(d, campaign, "EXEMPLAR_VIDEO_MISSING")
    assert f.nominee == entry.name
    silent(d, campaign, "PROJECT_VIDEO_MISSING")  # said once, by the exemplar's rule


def _video(campaign: Campaign, **kw):
    spec = campaign.exemplar.video
    args = {
        "seconds": (spec.min_seconds + spec.max_seconds) / 2,
        "container": spec.containers[0],
        "codec": spec.codec,
        "width": spec.width,
        "height": spec.height,
        "fps": spec.fps,
        **kw,
    }
    d = city_dossier(campaign, exemplar_star=True)
    d.stars[1].videos = [video_file("星/朴英子/宣传片.mp4", args.pop("seconds"), **args)]
    return d


def _video_fires(campaign: Campaign, prop: str, measured: str, **kw) -> None:
    f = fires_once(_video(campaign, **kw), campaign, "EXEMPLAR_VIDEO_SPEC")
    assert f.severity == "error"
    assert shortfalls(f) == {prop: measured}
    assert measured in message(f)


def _duration_bounds(campaign: Campaign) -> tuple[float, float]:
    spec, slack = campaign.exemplar.video, campaign.tolerances.duration_slack_seconds
    return spec.min_seconds - slack, spec.max_seconds + slack


def test_exemplar_video_to_spec_is_silent(campaign: Campaign) -> None:
    silent(_video(campaign), campaign, "EXEMPLAR_VIDEO_SPEC")


@pytest.mark.parametrize("end", [0, 1])
def test_exemplar_video_duration_at_the_slack_edge_is_silent(campaign: Campaign, end: int) -> None:
    silent(_video(campaign, seconds=_duration_bounds(campaign)[end]), campaign, "EXEMPLAR_VIDEO_SPEC")


@pytest.mark.parametrize(("end", "step"), [(0, -1), (1, +1), (0, -0.01), (1, +0.01)])
def test_exemplar_video_duration_past_the_slack_edge_fires(campaign: Campaign, end: int, step: float) -> None:
    seconds = _duration_bounds(campaign)[end] + step
    _video_fires(campaign, "duration", format_duration(seconds), seconds=seconds)


@pytest.mark.parametrize("sign", [-1, +1])
def test_exemplar_fps_at_the_tolerance_edge_is_silent(campaign: Campaign, sign: int) -> None:
    fps = campaign.exemplar.video.fps + sign * campaign.tolerances.fps_tolerance
    silent(_video(campaign, fps=fps), campaign, "EXEMPLAR_VIDEO_SPEC")


@pytest.mark.parametrize("sign", [-1, +1])
def test_exemplar_fps_past_the_tolerance_edge_fires(campaign: Campaign, sign: int) -> None:
    fps = campaign.exemplar.video.fps + sign * (campaign.tolerances.fps_tolerance + 0.01)
    _video_fires(campaign, "fps", f"{format_fps(fps)} fps", fps=fps)


@pytest.mark.parametrize(("dw", "dh"), [(-1, 0), (+1, 0), (0, -1), (0, +1)])
def test_exemplar_size_must_be_exact(campaign: Campaign, dw: int, dh: int) -> None:
    spec = campaign.exemplar.video
    w, h = spec.width + dw, spec.height + dh
    _video_fires(campaign, "size", f"{w}×{h}", width=w, height=h)


def test_exemplar_codec_and_container(campaign: Campaign) -> None:
    spec = campaign.exemplar.video
    other_codec = "hevc" if spec.codec != "hevc" else "h264"
    f = fires_once(_video(campaign, codec=other_codec), campaign, "EXEMPLAR_VIDEO_SPEC")
    assert set(shortfalls(f)) == {"codec"}
    wrong = other_container(spec.containers)
    _video_fires(campaign, "container", wrong.upper(), container=wrong)


def test_exemplar_video_not_held_to_the_normal_spec(campaign: Campaign) -> None:
    low, _ = _duration_bounds(campaign)
    d = city_dossier(campaign, exemplar_project=True)
    d.projects[2].videos = [video_file("项目/长鼓舞/宣传片.mp4", low - 1)]
    fires_once(d, campaign, "EXEMPLAR_VIDEO_SPEC")
    silent(d, campaign, "PROJECT_VIDEO_SPEC")


# The mark itself -----------------------------------------------------------------------


def test_every_configured_mark_marks_and_every_negation_unmarks(campaign: Campaign) -> None:
    for mark in campaign.exemplar.marks:
        assert is_exemplar_mark(mark, campaign), mark
        for negation in campaign.exemplar.negations:
            assert not is_exemplar_mark(negation + mark, campaign), negation + mark
    assert not is_exemplar_mark("", campaign)
