"""The office's own sample packages: `nomdesk check --json` must give what expected.json says.

Runs the real command on the real .eml files with the scorer that ships beside them, so
the test checks exactly what the office checks.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, SHARED

SAMPLES = SHARED / "samples"
NOMDESK = Path(sys.executable).with_name("nomdesk")


def _scorer():
    spec = importlib.util.spec_from_file_location("samples_score", SAMPLES / "score.py")
    assert spec and spec.loader, f"the sample scorer is missing: {SAMPLES / 'score.py'}"
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


CASES = sorted(p.name for p in SAMPLES.iterdir() if (p / "expected.json").is_file()) if SAMPLES.is_dir() else []


def test_samples_are_present() -> None:
    assert CASES, f"no sample packages under {SAMPLES}: ../shared must sit beside the checkout"


@pytest.mark.parametrize("case", CASES)
def test_sample_package(case: str) -> None:
    score = _scorer()
    case_dir = SAMPLES / case
    expected = json.loads((case_dir / "expected.json").read_text("utf-8"))
    obj, rc, note, _took = score.run_case(case_dir, f"{NOMDESK} check {{paths}} --json", str(ROOT), 300)
    assert obj is not None, note
    failed = [f"{name}: {why}" for name, ok, why in score.assertions(expected, obj, rc) if not ok]
    assert not failed, "\n".join(failed)
