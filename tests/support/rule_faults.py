"""Faults for "a failed check is never a pass" (issue 13): rules made to raise.

`break_rules` makes rules of the one registry raise in this process (undone with the monkeypatch);
`RULE_FAULTS_SITE` is a folder to put first on a subprocess's PYTHONPATH: its sitecustomize breaks
the rules named in `NOMDESK_TEST_BREAK_RULES` ("*": every rule) of a real `nomdesk` process.
The error names an ID number, as a rule's exception might quote a field: it must reach nobody unmasked.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from validators import REGISTRY

RULE_FAULTS_SITE = Path(__file__).resolve().parent / "rule_faults_site"
BREAK_ENV = "NOMDESK_TEST_BREAK_RULES"
LEAKED_ID = "220102199001011234"  # quoted in the error text: shown only masked
FAULT_TEXT = f"test fault: the rule broke on {LEAKED_ID}"


def raising(code: str):  # type: ignore[no-untyped-def]
    """A rule's `check` that raises instead of judging."""

    def check(dossier, campaign):  # type: ignore[no-untyped-def]
        raise RuntimeError(f"{FAULT_TEXT} ({code})")

    return check


def break_rules(monkeypatch: pytest.MonkeyPatch, codes: list[str] | None = None) -> list[str]:
    """Make the rules of `codes` (default: every registered rule) raise; returns the codes broken."""
    broken = []
    for rule in REGISTRY:
        if codes is None or rule.code in codes:
            monkeypatch.setattr(rule, "check", raising(rule.code))
            broken.append(rule.code)
    assert broken, codes
    return broken
