from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from config import Campaign, load_campaign

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


@pytest.fixture(scope="session")
def campaign() -> Campaign:
    return load_campaign()


class _RuleFailures(logging.Handler):
    """Collects what `validators.check_dossier` logs when a rule raises (in any thread of this process)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture(autouse=True)
def rules_strict(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test runs the rules strict: the desk and `nomdesk check` keep a rule that raises as an
    incomplete check (never a pass), and a test asserting "no findings" or "no such finding" must not
    pass because the rule crashed. Tests that make a rule raise on purpose are marked `rule_faults`."""
    if request.node.get_closest_marker("rule_faults"):
        yield
        return
    handler = _RuleFailures()
    logger = logging.getLogger("validators")
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
    if handler.messages:
        pytest.fail("a rule raised during the test: " + "; ".join(handler.messages[:5]))


@pytest.fixture(autouse=True)
def no_sender_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    """The desk never asks the Internet's DNS in a test (a real domain's DMARC policy would make
    results depend on the network): sender authentication tests pass their own DNS stub
    (`Desk(dns=...)`, tests/support/senders.py)."""
    monkeypatch.setenv("NOMDESK_SENDER_AUTH_DNS", "false")
