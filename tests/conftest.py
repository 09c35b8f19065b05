from __future__ import annotations

from pathlib import Path

import pytest

from config import Campaign, load_campaign

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


@pytest.fixture(scope="session")
def campaign() -> Campaign:
    return load_campaign()
