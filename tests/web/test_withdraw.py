"""Withdraw and restore on the unit page: behind the login and the form token, through the desk."""

from __future__ import annotations

import html
import re
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from config.campaign import Campaign
from nomdesk.app import create_app
from nomdesk.service import Service
from storage.tables import RawState
from tests.support.dashboard import COMPLETE, build_service, form_csrf, login
from web import routes

UNIT = f"/units/{quote(COMPLETE)}"
STAR = "朴英子"


def cards(page: str) -> set[str]:
    return set(re.findall(r'data-nominee="([^"]+)"', page))


def withdrawn(page: str) -> set[str]:
    return set(re.findall(r'data-withdrawn="([^"]+)"', page))


def test_each_nominee_has_a_withdraw_button(office: TestClient) -> None:
    page = office.get(UNIT).text
    assert f'action="{UNIT}/withdraw"' in page
    assert f'name="nominee" value="{STAR}"' in page and f"确认撤回 {STAR}" in page
    assert withdrawn(page) == set()


def test_withdraw_then_restore_from_the_unit_page(office: TestClient, service: Service) -> None:
    csrf = form_csrf(office.get(UNIT).text)
    response = office.post(f"{UNIT}/withdraw", data={"csrf": csrf, "nominee": STAR}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].endswith("?done=withdraw")
    page = office.get(response.headers["location"]).text
    assert "已撤回该推荐对象" in page
    assert STAR not in cards(page) and "金哲洙" in cards(page)
    assert withdrawn(page) == {STAR}
    assert f"百姓学习之星 {STAR} · 办公室 wu 撤回" in html.unescape(page)
    assert f'action="{UNIT}/restore"' in page
    [audit] = service.store.audit.entries(unit_name=COMPLETE, action="nominee.withdrawn")
    assert audit.actor == "office:wu" and audit.detail["name"] == STAR

    response = office.post(f"{UNIT}/restore", data={"csrf": csrf, "nominee": STAR}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].endswith("?done=restore")
    page = office.get(response.headers["location"]).text
    assert "已恢复该推荐对象" in page
    assert STAR in cards(page) and withdrawn(page) == set()
    [audit] = service.store.audit.entries(unit_name=COMPLETE, action="nominee.restored")
    assert audit.actor == "office:wu"


def test_a_name_that_is_no_nominee_is_refused_on_the_page(office: TestClient, service: Service) -> None:
    csrf = form_csrf(office.get(UNIT).text)
    response = office.post(f"{UNIT}/withdraw", data={"csrf": csrf, "nominee": "王五"})
    assert response.status_code == 400
    assert "当前的推荐对象中没有“王五”" in html.unescape(response.text)
    response = office.post(f"{UNIT}/restore", data={"csrf": csrf, "nominee": STAR})
    assert response.status_code == 400 and "无需恢复" in response.text
    assert service.store.audit.entries(unit_name=COMPLETE, action="nominee.withdrawn") == []


def test_withdraw_needs_the_login_and_the_form_token(client: TestClient, office: TestClient, service: Service) -> None:
    forged = office.post(f"{UNIT}/withdraw", data={"csrf": "forged", "nominee": STAR}, follow_redirects=False)
    assert forged.status_code == 403 and "表单已失效" in forged.text
    office.cookies.clear()  # the same client, logged out
    anonymous = client.post(f"{UNIT}/withdraw", data={"nominee": STAR}, follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
    assert service.store.audit.entries(unit_name=COMPLETE, action="nominee.withdrawn") == []
    assert STAR in {s.name for s in service.desk.evaluate(COMPLETE).dossier.stars}


def test_the_page_waits_for_the_pipeline_and_never_does_its_work(
    data_dir: Path, campaign: Campaign, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No pipeline thread runs here: the action is queued, the page waits its bounded while, then
    says the unit is being checked, and the request's thread has processed nothing."""
    monkeypatch.setattr(routes, "PIPELINE_WAIT_SECONDS", 0.3)
    service = build_service(data_dir, campaign)
    try:
        with TestClient(create_app(service), base_url="http://127.0.0.1") as office:
            assert login(office).status_code == 303
            csrf = form_csrf(office.get(UNIT).text)
            response = office.post(f"{UNIT}/withdraw", data={"csrf": csrf, "nominee": STAR}, follow_redirects=False)
            assert response.status_code == 303 and response.headers["location"].endswith("?done=checking")
            [audit] = service.store.audit.entries(unit_name=COMPLETE, action="nominee.withdrawn")
            assert service.store.raw.get(audit.detail["raw_id"]).state == RawState.NEW
            page = office.get(response.headers["location"]).text
            assert "系统正在检查该单位材料" in page and STAR in cards(page)
    finally:
        service.shutdown()
