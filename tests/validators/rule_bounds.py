"""Helpers for the per-module rule tests (test_star.py, test_project.py, ...).

Each of those tests puts one measured value just inside or just outside a bound read from
the campaign, runs every rule as the desk does, and looks at the findings of one code:
silent inside, one finding outside that shows the measured value. Dossiers come from
tests/support/dossiers.py.

The video spec is the same rule shape for stars and projects (`VideoSpecCase`): both files
run its duration and container cases, each with its own code and severity.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from config import Campaign
from intake.models import Dossier
from tests.support.dossiers import city_dossier, video_file
from validators import finding_to_json, run_rules
from validators.base import Finding
from validators.measure import format_duration


def findings_of(dossier: Dossier, campaign: Campaign, code: str) -> list[Finding]:
    """The findings of one code when every rule runs over the dossier (a failing rule raises)."""
    return [f for f in run_rules(dossier, campaign, strict=True) if f.code == code]


def silent(dossier: Dossier, campaign: Campaign, code: str) -> None:
    found = findings_of(dossier, campaign, code)
    assert found == [], f"{code} fired: {[finding_to_json(f)['message_zh'] for f in found]}"


def fires_once(dossier: Dossier, campaign: Campaign, code: str) -> Finding:
    """The one finding of `code`; its rendered message must show every parameter (no "？")."""
    found = findings_of(dossier, campaign, code)
    assert len(found) == 1, f"{code}: expected one finding, got {[finding_to_json(f) for f in found]}"
    message = finding_to_json(found[0])["message_zh"]
    assert "？" not in message, message
    return found[0]


def message(finding: Finding) -> str:
    return finding_to_json(finding)["message_zh"]


def shortfalls(finding: Finding) -> dict[str, str]:
    """prop -> measured value, of a spec finding (video or ID photo)."""
    return {s["prop"]: s["measured"] for s in finding.evidence["shortfalls"]}


def other_container(containers: list[str]) -> str:
    """A real video container the spec does not accept."""
    return next(c for c in ("mov", "avi", "mkv", "flv", "wmv", "mp4") if c not in [x.lower() for x in containers])


# Video spec: duration with slack, container (stars and projects alike) ----------------

# (end of the slack-widened range, step past it): a whole second and a hundredth of one.
DURATION_PAST_EDGE = [(0, -1), (1, +1), (0, -0.01), (1, +0.01)]
_ENDS = ("low", "high")


@dataclass(frozen=True)
class VideoSpecCase:
    """One kind's video spec rule: which nominee gets the video, under which code and severity."""

    kind: str  # "star" or "project": the campaign section and the dossier list (stars, projects)
    code: str
    severity: str
    path: str  # where the video sits in the package

    def dossier(self, campaign: Campaign, seconds: float, **kw: object) -> Dossier:
        """A valid city dossier whose first nominee of this kind has one video of `seconds`."""
        d = city_dossier(campaign)
        getattr(d, f"{self.kind}s")[0].videos = [video_file(self.path, seconds, **kw)]
        return d

    def duration_bounds(self, campaign: Campaign) -> tuple[float, float]:
        """The shortest and longest video that pass: the spec widened by the campaign's slack."""
        spec, slack = getattr(campaign, self.kind).video, campaign.tolerances.duration_slack_seconds
        return spec.min_seconds - slack, spec.max_seconds + slack

    def duration_at_the_edge_is_silent(self, campaign: Campaign, end: int) -> None:
        silent(self.dossier(campaign, self.duration_bounds(campaign)[end]), campaign, self.code)

    def duration_past_the_edge_fires(self, campaign: Campaign, end: int, step: float) -> None:
        seconds = self.duration_bounds(campaign)[end] + step
        f = fires_once(self.dossier(campaign, seconds), campaign, self.code)
        assert f.severity == self.severity
        assert shortfalls(f) == {"duration": format_duration(seconds)}
        assert f"时长 {format_duration(seconds)}" in message(f)

    def container_outside_the_list_fires(self, campaign: Campaign) -> None:
        spec = getattr(campaign, self.kind).video
        middle = (spec.min_seconds + spec.max_seconds) / 2
        silent(self.dossier(campaign, middle, container=spec.containers[0]), campaign, self.code)
        wrong = other_container(spec.containers)
        f = fires_once(self.dossier(campaign, middle, container=wrong), campaign, self.code)
        assert shortfalls(f) == {"container": wrong.upper()}


# Every case of the video spec, as (VideoSpecCase method, its arguments after the campaign):
# test_star.py and test_project.py each run them all against their own VideoSpecCase.
VIDEO_SPEC_CHECKS = [
    *(
        pytest.param("duration_at_the_edge_is_silent", (end,), id=f"duration_at_the_{_ENDS[end]}_edge_is_silent")
        for end in (0, 1)
    ),
    *(
        pytest.param(
            "duration_past_the_edge_fires", (end, step), id=f"duration_{step:+}s_past_the_{_ENDS[end]}_edge_fires"
        )
        for end, step in DURATION_PAST_EDGE
    ),
    pytest.param("container_outside_the_list_fires", (), id="container_outside_the_list_fires"),
]
