"""A failed check is never a pass (issue 13, item 11): `nomdesk check` with rules that raise.

Before, a rule that raised was logged and skipped: with every rule broken the complete sample
answered "findings": [] and exit 0, so a crash read as "材料齐全". Now the check is incomplete:
the JSON of what was found is still printed, marked so, a Chinese line names the rule, exit 2.
"""

from __future__ import annotations

import io
import json
import os

import pytest
from rich.console import Console
from typer.testing import CliRunner

from tests.conftest import ROOT, SHARED
from tests.support.packages import run_nomdesk
from tests.support.rule_faults import BREAK_ENV, LEAKED_ID, RULE_FAULTS_SITE, break_rules
from validators import REGISTRY

SAMPLE = SHARED / "samples" / "yanbian_complete"  # expected.json: max_errors 0, no must_have
COMPLETE = SAMPLE / "1.eml"

pytestmark = pytest.mark.rule_faults


def _check(args: list[str], monkeypatch: pytest.MonkeyPatch) -> tuple[int, str, str]:
    """`nomdesk check` in this process (the rules broken here); (exit code, stdout, stderr)."""
    from nomdesk import cli
    from nomdesk.cli import offline

    stderr = io.StringIO()
    monkeypatch.setattr(offline, "err", Console(file=stderr, width=400))
    result = CliRunner().invoke(cli.app, ["check", *args])
    return result.exit_code, result.stdout, stderr.getvalue()


def test_the_sample_is_complete_when_the_rules_work() -> None:
    expected = json.loads((SAMPLE / "expected.json").read_text(encoding="utf-8"))
    assert expected["max_errors"] == 0 and not expected["must_have"]
    run = run_nomdesk("check", COMPLETE, "--json")
    assert run.code == 0 and run.json["incomplete"] is False and run.json["rule_errors"] == []


def test_every_rule_raising_is_exit_2_never_no_findings() -> None:
    """A real `nomdesk` process whose every rule raises (a sitecustomize fault, no hook in the desk)."""
    env = {**os.environ, BREAK_ENV: "*", "PYTHONPATH": f"{RULE_FAULTS_SITE}{os.pathsep}{ROOT}"}
    run = run_nomdesk("check", COMPLETE, "--json", env=env)
    assert run.code == 2, (run.stdout[-500:], run.stderr[-2000:])
    out = json.loads(run.stdout)  # still one object: what could be read, marked incomplete
    assert out["incomplete"] is True
    assert {e["code"] for e in out["rule_errors"]} == set(REGISTRY.codes())
    assert out["unit"] == "延边朝鲜族自治州教育局" and len(out["stars"]) == 8  # what was read is there
    assert "检查未完成" in run.stderr and "结果不可作为“材料齐全”" in run.stderr
    assert LEAKED_ID not in run.stdout + run.stderr  # the error text is masked


def test_one_rule_raising_is_exit_2_and_named(monkeypatch: pytest.MonkeyPatch) -> None:
    break_rules(monkeypatch, ["STAR_QUOTA"])
    code, stdout, stderr = _check([str(COMPLETE), "--json"], monkeypatch)
    assert code == 2
    out = json.loads(stdout)
    assert out["findings"] == [] and out["incomplete"] is True  # no finding, and no pass either
    assert [e["code"] for e in out["rule_errors"]] == ["STAR_QUOTA"]
    assert "检查未完成：规则 STAR_QUOTA 出错（RuntimeError: " in stderr
    assert LEAKED_ID not in stdout + stderr


def test_the_text_report_calls_nothing_complete(monkeypatch: pytest.MonkeyPatch) -> None:
    break_rules(monkeypatch)
    code, stdout, stderr = _check([str(COMPLETE)], monkeypatch)
    assert code == 2
    assert "材料齐全" not in stdout and "✓" not in stdout
    assert "检查未完成" in stdout and "需人工核查" in stdout
    assert "检查未完成" in stderr


def test_a_clean_run_after_the_fault_is_a_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    break_rules(monkeypatch, ["STAR_QUOTA"])
    assert _check([str(COMPLETE), "--json"], monkeypatch)[0] == 2
    monkeypatch.undo()
    code, stdout, _ = _check([str(COMPLETE), "--json"], monkeypatch)
    assert code == 0 and json.loads(stdout)["incomplete"] is False
