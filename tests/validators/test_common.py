"""What the rules share (validators/rules/common.py), tested through the rules that use it.

common.py registers no rule; its helpers decide two things every nominee rule depends on:
when two names are the same name (RULES.md "Matching files to nominees"), and that a name
listed twice is judged once.
"""

from __future__ import annotations

import pytest

from config import Campaign
from config.campaign import PastStar
from tests.support.dossiers import city_dossier, rename_star
from tests.validators.rule_bounds import findings_of, fires_once, silent


def _honoured(campaign: Campaign, name: str) -> Campaign:
    past = PastStar(name=name, year=campaign.year - 1)
    return campaign.model_copy(update={"past_honorees": campaign.past_honorees.model_copy(update={"stars": [past]})})


@pytest.mark.parametrize(
    "written",
    [
        "阿依 古丽",  # a space
        "阿依\u3000古丽",  # a full-width space
        "阿依·古丽",  # U+00B7
        "阿依•古丽",  # U+2022
        "阿依.古丽",  # a full stop between two name parts
        "阿依\u30fb古丽",  # every middle dot of RULES.md
        "阿依\u2027古丽",  # every middle dot of RULES.md
        "阿依\uff65古丽",  # every middle dot of RULES.md
        "阿依\u2219古丽",  # every middle dot of RULES.md
    ],
)
def test_the_same_name_written_another_way_is_the_same_name(campaign: Campaign, written: str) -> None:
    d = city_dossier(campaign)
    rename_star(d, 0, written)
    fires_once(d, _honoured(campaign, "阿依古丽"), "STAR_PREVIOUSLY_HONORED")


def test_a_name_is_not_matched_inside_a_longer_name(campaign: Campaign) -> None:
    past = campaign.past_honorees.stars[0].name
    d = city_dossier(campaign)
    rename_star(d, 0, past + past[-1])
    silent(d, campaign, "STAR_PREVIOUSLY_HONORED")
    rename_star(d, 0, past[:-1])
    silent(d, campaign, "STAR_PREVIOUSLY_HONORED")


def test_a_name_listed_twice_is_judged_once(campaign: Campaign) -> None:
    """Its second copy has no material of its own: DUPLICATE_NOMINEE says it, once, and no
    nominee rule adds "未收到推荐表" or "照片 0 张" for the copy."""
    d = city_dossier(campaign)
    twin = d.stars[1]
    rename_star(d, 1, d.stars[0].name + " ")  # the same name, folded
    twin.form, twin.photos = None, []
    twin.row.birth_parsed, twin.row.phone = d.stars[0].row.birth_parsed, d.stars[0].row.phone  # the same person
    assert len(findings_of(d, campaign, "DUPLICATE_NOMINEE")) == 1
    silent(d, campaign, "STAR_FORM_MISSING")
    silent(d, campaign, "STAR_PHOTO_COUNT")
    rename_star(d, 1, "另一人")  # a different name is judged on its own
    assert fires_once(d, campaign, "STAR_FORM_MISSING").nominee == "另一人"
