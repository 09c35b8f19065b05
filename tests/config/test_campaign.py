"""The campaign's one reading of a unit name someone typed: full name, alias or short name, exactly."""

from __future__ import annotations

import pytest

from config import Campaign

CHANGCHUN = "长春市教育局"
MEIHEKOU = "梅河口市教育局"


@pytest.mark.parametrize(
    ("typed", "unit"),
    [
        ("长春市教育局", CHANGCHUN),  # the full name
        ("长春市", CHANGCHUN),  # an alias
        ("长春", CHANGCHUN),  # the short name receipts use ("长春-07")
        ("\u3000长春 ", CHANGCHUN),  # padded with full-width and plain spaces
        ("梅河口", MEIHEKOU),
        ("吉林大学", "吉林大学"),
        ("长春市第一中学", None),  # contains a unit's alias: not that unit
        ("梅河口康美职院", None),
        ("长春市 教育局", None),
        ("", None),
        ("\u3000", None),
    ],
)
def test_unit_called(campaign: Campaign, typed: str, unit: str | None) -> None:
    found = campaign.unit_called(typed)
    assert (found.name if found else None) == unit


def test_a_full_name_or_alias_wins_over_another_units_short_name(campaign: Campaign) -> None:
    jilin = next(u for u in campaign.units if u.name == "吉林市教育局")
    assert jilin.short_name == "吉林"
    province = jilin.model_copy(update={"name": "吉林省教育学院", "aliases": ["吉林"], "contacts": []})
    both = campaign.model_copy(update={"units": [jilin, province]})
    assert both.unit_called("吉林") == province
    assert both.unit_called("吉林市") == jilin


def test_unit_named_still_finds_a_unit_inside_free_text(campaign: Campaign) -> None:
    found = campaign.unit_named("长春市第一中学")  # what a problem line suggests
    assert found is not None and found.name == CHANGCHUN
