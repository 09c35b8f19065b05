from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser

from config.campaign import Campaign
from nomdesk.app import create_app
from nomdesk.service import Service
from tests.support.browser import launched
from tests.support.dashboard import add_waiting_mail, build_service, login, running_server, seed


@pytest.fixture(scope="session")
def seeded_dir(tmp_path_factory: pytest.TempPathFactory, campaign: Campaign) -> Path:
    """Seeded once per test process (it takes a few seconds); each test works on a copy."""
    root = tmp_path_factory.mktemp("dashboard-seed") / "var"
    seed(root, campaign)
    return root


@pytest.fixture
def data_dir(seeded_dir: Path, tmp_path: Path) -> Path:
    target = tmp_path / "var"
    shutil.copytree(seeded_dir, target)
    return target


@pytest.fixture
def service(data_dir: Path, campaign: Campaign) -> Iterator[Service]:
    """The dashboard's service with its pipeline thread running, as `serve` runs it: the dashboard's
    actions only queue, and wait for that thread to process what they queued."""
    service = build_service(data_dir, campaign)
    service.start_pipeline()
    yield service
    service.shutdown()


@pytest.fixture
def client(service: Service) -> Iterator[TestClient]:
    with TestClient(create_app(service), base_url="http://127.0.0.1") as c:
        yield c


@pytest.fixture
def office(client: TestClient) -> TestClient:
    assert login(client).status_code == 303
    return client


@pytest.fixture
def waiting_id(service: Service, tmp_path: Path) -> int:
    """A mail of an unregistered sender waiting in the 待确认 queue (she names 梅河口市教育局)."""
    return add_waiting_mail(service, tmp_path)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One headless Chromium per browser test module."""
    yield from launched()


@pytest.fixture
def server(service: Service) -> Iterator[str]:
    with running_server(create_app(service)) as url:
        yield url
