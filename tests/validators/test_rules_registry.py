"""The registry against RULES.md: every code registered once, with the severity RULES.md gives."""

from __future__ import annotations

import re

import pytest

from tests.conftest import SHARED
from validators import REGISTRY
from validators.base import DuplicateRuleError, Registry, Rule, Severity

RULES_MD = SHARED / "spec" / "RULES.md"
_ROW = re.compile(r"^\|\s*`([A-Z_]+)`\s*\|\s*([^|]+?)\s*\|", re.MULTILINE)


def _rules_md() -> dict[str, str]:
    # CI always checks the repository out beside ../shared: a missing spec is a broken
    # checkout, and skipping would let every severity drift unnoticed.
    assert RULES_MD.exists(), f"{RULES_MD} not found (the shared spec sits beside the repository)"
    return {code: cell for code, cell in _ROW.findall(RULES_MD.read_text(encoding="utf-8"))}


# Codes RULES.md already names whose rule belongs to a later issue (and what it waits on).
NOT_YET: dict[str, str] = {}


def test_rules_md_is_parsed() -> None:
    rows = _rules_md()
    assert len(rows) >= 41 and "STAR_QUOTA" in rows and "LINK_PENDING" in rows and "REGISTER_OMITS" in rows


def test_every_rules_md_code_is_registered() -> None:
    assert sorted(set(_rules_md()) - set(REGISTRY.codes()) - set(NOT_YET)) == []
    assert len(REGISTRY) == 41


def test_no_code_outside_rules_md() -> None:
    assert sorted(set(REGISTRY.codes()) - set(_rules_md())) == []


@pytest.mark.parametrize("code", sorted(REGISTRY.codes()))
def test_severity_matches_rules_md(code: str) -> None:
    cell = _rules_md()[code]
    # "error if above, warning if below": the rule's default is the first one named.
    first = re.search(r"error|warning|info", cell)
    assert first is not None, cell
    assert REGISTRY.get(code).severity == Severity(first.group(0))


@pytest.mark.parametrize("code", sorted(REGISTRY.codes()))
def test_rule_has_chinese_texts(code: str) -> None:
    r = REGISTRY.get(code)
    for text in (r.title_zh, r.message_zh, r.hint_zh):
        assert re.search(r"[\u4e00-\u9fff]", text), (code, text)


def _make_rule(code_: str) -> type[Rule]:
    class Dummy(Rule):
        code = code_
        severity = Severity.INFO
        title_zh = "测试"
        message_zh = "测试"
        hint_zh = "测试"

    return Dummy


def test_registry_refuses_duplicates() -> None:
    registry = Registry()
    registry.register(_make_rule("SOME_CODE"))
    with pytest.raises(DuplicateRuleError, match="SOME_CODE"):
        registry.register(_make_rule("SOME_CODE"))
    assert registry.codes() == ["SOME_CODE"]


def test_global_registry_refuses_a_second_rule_for_a_code() -> None:
    before = REGISTRY.get("LATE")
    with pytest.raises(DuplicateRuleError):
        REGISTRY.register(_make_rule("LATE"))
    assert REGISTRY.get("LATE") is before
