"""A campaign file with a typo stops `nomdesk check` at once, naming the key (exit 2), never mid-check.

Each bad file is the shipped 2021 call with one value broken, as an office editing next
year's file might break it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from config.campaign import DEFAULT_CAMPAIGN, CampaignError, load_campaign
from tests.support.packages import run_nomdesk

# (what is broken, the line as shipped, the broken line, the key the error must name)
BROKEN = {
    "leader_keyword_regex": (
        "leader_keywords = ['县长', ",
        "leader_keywords = ['县长(', ",
        "star.leader_keywords[0]",
    ),
    "exclusion_regex": (
        "leader_exclusions = ['(?:村|社区|屯|支部|党支部|小组|班)[^，,]{0,8}书记', '科长'",
        "leader_exclusions = ['(?:村|社区|屯|支部|党支部|小组|班)[^，,]{0,8}书记', '科长['",
        "star.leader_exclusions[1]",
    ),
    "link_regex": (
        r"'https?://pan\.baidu\.com/(?:s/|share/)\S*',",
        "'https?://pan[.baidu',",
        "links.large_file_patterns[7]",
    ),
    "timezone": ('timezone = "Asia/Shanghai"', 'timezone = "Asia/Shanghia"', "timezone"),
    "negative_tolerance": ("fps_tolerance = 0.1", "fps_tolerance = -1", "tolerances.fps_tolerance"),
    "negative_slack": (
        "duration_slack_seconds = 2",
        "duration_slack_seconds = -2",
        "tolerances.duration_slack_seconds",
    ),
    "negative_limit": (
        "max_archive_entries = 5000",
        "max_archive_entries = -5000",
        "limits.max_archive_entries",
    ),
}


def _broken(tmp_path: Path, case: str) -> Path:
    shipped, broken, _ = BROKEN[case]
    text = DEFAULT_CAMPAIGN.read_text(encoding="utf-8")
    assert text.count(shipped) == 1, f"the shipped campaign no longer has {shipped!r}"
    path = tmp_path / f"{case}.toml"
    path.write_text(text.replace(shipped, broken), encoding="utf-8")
    return path


@pytest.mark.parametrize("case", list(BROKEN))
def test_bad_value_is_refused_naming_its_key(case: str, tmp_path: Path) -> None:
    with pytest.raises(CampaignError) as info:
        load_campaign(_broken(tmp_path, case))
    assert BROKEN[case][2] + ":" in str(info.value)


@pytest.mark.parametrize("case", ["leader_keyword_regex", "timezone"])
def test_check_with_a_bad_campaign_exits_2_naming_the_key(case: str, tmp_path: Path) -> None:
    folder = tmp_path / "材料"
    folder.mkdir()
    (folder / "说明.txt").write_text("推荐材料", encoding="utf-8")
    run = run_nomdesk("check", folder, "--json", "--campaign", _broken(tmp_path, case))
    assert run.code == 2
    assert BROKEN[case][2] in run.stderr.replace("\n", "")
    assert "Traceback" not in run.stderr
