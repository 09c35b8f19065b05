"""Helpers for the per-module rule tests (test_star.py, test_project.py, ...).

Each of those tests puts one measured value just inside or just outside a bound read from
the campaign, runs every rule as the desk does, and looks at the findings of one code:
silent inside, one finding outside that shows the measured value. Dossiers come from
tests/support/dossiers.py.
"""

from __future__ import annotations

from config import Campaign
from intake.models import Dossier
from validators import finding_to_json, run_rules
from validators.base import Finding


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
