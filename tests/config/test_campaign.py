"""The campaign's one reading of a unit name someone typed: full name, alias or short name, exactly;
and its key, which gives a campaign its own schema or file in a shared database."""

from __future__ import annotations

from pathlib import Path

import pytest

from config import Campaign
from config.campaign import DEFAULT_CAMPAIGN, CampaignError, load_campaign

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


def _with_key(tmp_path: Path, line: str) -> Path:
    path = tmp_path / "campaign.toml"
    path.write_text(line + "\n" + DEFAULT_CAMPAIGN.read_text(encoding="utf-8"), encoding="utf-8")
    return path


def test_the_shipped_campaign_has_no_key(campaign: Campaign) -> None:
    assert campaign.key is None  # the default campaign: today's database file and schema


@pytest.mark.parametrize("key", ["jilin-2021", "jl_2021", "a", "x" * 40])
def test_a_campaign_key_is_a_short_lowercase_slug(tmp_path: Path, key: str) -> None:
    assert load_campaign(_with_key(tmp_path, f'key = "{key}"')).key == key


@pytest.mark.parametrize("key", ["Jilin-2021", "jilin 2021", "吉林2021", "jilin.2021", "x" * 41, "", "../x"])
def test_a_bad_campaign_key_fails_at_load_naming_the_key(tmp_path: Path, key: str) -> None:
    with pytest.raises(CampaignError) as caught:
        load_campaign(_with_key(tmp_path, f'key = "{key}"'))
    message = str(caught.value)
    assert "  key: " in message and f"活动标识 key = {key!r} 不可用" in message


def test_a_campaign_key_that_is_no_string_fails_naming_the_key(tmp_path: Path) -> None:
    with pytest.raises(CampaignError, match="  key: "):
        load_campaign(_with_key(tmp_path, "key = 2021"))
