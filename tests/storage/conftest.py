from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from storage.repo import Store
from tests.support.postgres import postgres_server, postgres_url  # noqa: F401  (fixtures)

ID_KEY = b"test-key"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str | None:
    """None means the default: SQLite under the data dir."""
    if request.param == "sqlite":
        return None
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "var"


@pytest.fixture
def store(data_dir: Path, database_url: str | None) -> Iterator[Store]:
    with Store.open(data_dir, database_url, id_key=ID_KEY) as s:
        yield s
