"""Rules carry their metadata: what their findings are about, and which codes they defer to.

A deferral is declared on the class (`defers_to`), so a reader sees it without reading the body;
these tests hold every declaration to what it says: it names registered codes, and where both
rules would speak about a nominee, only the one deferred to does. Every declared deferral needs
a case here, so none can be added untested.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from config import Campaign
from intake.models import Dossier
from tests.support.dossiers import add_problem, city_dossier, unregister_star, video_file
from tests.validators.test_rules_each_code import CASES as EACH_CODE
from validators import REGISTRY, run_rules
from validators.base import Finding, Rule

DUPLICATE = "DUPLICATE_NOMINEE"
DECLARED = sorted((r.code, code) for r in REGISTRY for code in r.defers_to)


def _exemplar(entries):
    return next(e for e in entries if e.exemplar)


def _exemplar_star_one_photo(c: Campaign) -> tuple[Dossier, str]:
    d = city_dossier(c, exemplar_star=True)
    star = _exemplar(d.stars)
    star.photos = star.photos[:1]  # short of the regular count and of the exemplar's
    return d, star.name


def _exemplar_project_no_photo(c: Campaign) -> tuple[Dossier, str]:
    d = city_dossier(c, exemplar_project=True)
    project = _exemplar(d.projects)
    project.photos = []
    return d, project.name


def _exemplar_star_short_video(c: Campaign) -> tuple[Dossier, str]:
    d = city_dossier(c, exemplar_star=True)
    star = _exemplar(d.stars)
    star.videos = [video_file("星/典范/视频.mp4", 10)]  # too short for either spec
    return d, star.name


def _exemplar_project_short_video(c: Campaign) -> tuple[Dossier, str]:
    d = city_dossier(c, exemplar_project=True)
    project = _exemplar(d.projects)
    project.videos = [video_file("项目/典范/视频.mp4", 10)]
    return d, project.name


def _exemplar_project_no_video(c: Campaign) -> tuple[Dossier, str]:
    d = city_dossier(c, exemplar_project=True)
    project = _exemplar(d.projects)
    project.videos = []
    return d, project.name


def _no_star_table_and_one_unregistered(c: Campaign) -> tuple[Dossier, str]:
    d = city_dossier(c)
    unregister_star(d, 2)
    d.star_register = None
    return d, d.stars[2].name


def _form_in_a_missing_volume(star: bool) -> Callable[[Campaign], tuple[Dossier, str]]:
    """A nominee without a form while a 7z set lacks its second volume: the form may be in it."""

    def make(c: Campaign) -> tuple[Dossier, str]:
        d = city_dossier(c)
        entry = d.stars[0] if star else d.projects[0]
        entry.form = None
        missing = {"archive": "材料.7z", "missing": ["材料.7z.002"], "have": ["材料.7z.001"]}
        add_problem(d, "ARCHIVE_PART_MISSING", "材料.7z", "缺少分卷", **missing)
        return d, entry.name

    return make


# (rule, code it defers to) -> a dossier where both would speak, and the nominee they would speak of.
# The pairs with DUPLICATE_NOMINEE are built from the every-code table (`_duplicated`).
CASES: dict[tuple[str, str], Callable[[Campaign], tuple[Dossier, str]]] = {
    ("STAR_PHOTO_COUNT", "EXEMPLAR_PHOTOS"): _exemplar_star_one_photo,
    ("PROJECT_PHOTO_COUNT", "EXEMPLAR_PHOTOS"): _exemplar_project_no_photo,
    ("STAR_VIDEO_SPEC", "EXEMPLAR_VIDEO_SPEC"): _exemplar_star_short_video,
    ("PROJECT_VIDEO_SPEC", "EXEMPLAR_VIDEO_SPEC"): _exemplar_project_short_video,
    ("PROJECT_VIDEO_MISSING", "EXEMPLAR_VIDEO_MISSING"): _exemplar_project_no_video,
    ("REGISTER_MISMATCH", "REGISTER_MISSING"): _no_star_table_and_one_unregistered,
    ("STAR_FORM_MISSING", "ARCHIVE_PART_MISSING"): _form_in_a_missing_volume(star=True),
    ("PROJECT_FORM_MISSING", "ARCHIVE_PART_MISSING"): _form_in_a_missing_volume(star=False),
}


def _without(rule: Rule, code: str) -> Rule:
    """The rule as it would be without the one deferral (not registered)."""
    return type(f"{type(rule).__name__}Undeferred", (type(rule),), {"defers_to": rule.defers_to - {code}})()


def _about(findings, name: str) -> list[Finding]:
    return [f for f in findings if f.nominee == name]


def _duplicated(c: Campaign, code: str) -> tuple[Dossier, str]:
    """The rule's every-code case with the nominee it fires on registered a second time, materials
    and all: the second copy would repeat the first one's finding."""
    d = EACH_CODE[code][0](c)
    assert isinstance(d, Dossier)
    name = next(f.nominee for f in REGISTRY.get(code).check(d, c) if f.nominee)
    for entries, register in ((d.stars, d.star_register), (d.projects, d.project_register)):
        entry = next((e for e in entries if e.name == name), None)
        if entry is not None:
            entries.append(entry.model_copy(deep=True))
            if register is not None:
                rows = [e.row for e in entries if e.row is not None]
                if entries is d.stars:
                    register.star_rows = rows
                else:
                    register.project_rows = rows
    return d, name


def test_every_declared_deferral_names_a_registered_code() -> None:
    for r in REGISTRY:
        assert r.defers_to <= set(REGISTRY.codes()), (r.code, r.defers_to)
        assert r.code not in r.defers_to


def test_every_declared_deferral_has_a_case() -> None:
    not_duplicates = {pair for pair in DECLARED if pair[1] != DUPLICATE}
    assert sorted(not_duplicates - set(CASES)) == []
    assert sorted(set(CASES) - not_duplicates) == []


@pytest.mark.parametrize(("code", "deferred_to"), DECLARED)
def test_only_the_code_deferred_to_speaks(campaign: Campaign, code: str, deferred_to: str) -> None:
    rule = REGISTRY.get(code)
    if deferred_to == DUPLICATE:
        d, name = _duplicated(campaign, code)
    else:
        d, name = CASES[(code, deferred_to)](campaign)
    undeferred = _about(_without(rule, deferred_to).check(d, campaign), name)
    reported = _about(rule.check(d, campaign), name)
    codes = [f.code for f in run_rules(d, campaign, strict=True)]
    assert deferred_to in codes
    assert undeferred, f"{code} would not speak of {name} without deferring to {deferred_to}: no case"
    if deferred_to == DUPLICATE:  # the first copy is still judged; the second is DUPLICATE_NOMINEE's
        assert _about(REGISTRY.get(DUPLICATE).check(d, campaign), name)
        assert len(undeferred) == 2 * len(reported)
    else:
        assert reported == []


@pytest.mark.parametrize("code", sorted(EACH_CODE))
def test_a_rules_about_matches_its_findings(campaign: Campaign, code: str) -> None:
    """A nominee rule's findings name the nominee, a unit rule's never do (a file's may: one meant for
    a nominee's item is that nominee's problem too)."""
    rule = REGISTRY.get(code)
    d = EACH_CODE[code][0](campaign)
    assert isinstance(d, Dossier)
    findings = list(rule.check(d, campaign))
    assert findings
    if rule.about == "nominee":
        assert all(f.nominee for f in findings)
    elif rule.about == "unit":
        assert all(f.nominee is None for f in findings)
