from __future__ import annotations

from pathlib import Path

import pytest

from config import Campaign
from intake.forms.document import DocumentResult, read_document
from intake.models import PackageFile

ReadFile = "Callable[[Path, str], DocumentResult]"


@pytest.fixture
def read(tmp_path: Path, campaign: Campaign):  # type: ignore[no-untyped-def]
    """Read a file as intake would: `read(path, sniffed, logical_path=None)`."""

    def _read(local: Path, sniffed: str, logical: str | None = None) -> DocumentResult:
        file = PackageFile(path=logical or local.name, local=local, size=local.stat().st_size, sniffed=sniffed)
        return read_document(file, tmp_path / "work", campaign)

    return _read
