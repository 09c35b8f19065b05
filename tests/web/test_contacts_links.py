"""The contacts page's 作废链接 / 重新生成链接 (issue 17): each unit contact's page link revoked or
reissued by the office (with the session's CSRF token), the new link shown once on the answer to the
reissue, the old one refused by the link store from then on; and a real Chromium clicking through it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser

from config.campaign import Campaign
from config.settings import Settings
from nomdesk.app import create_app
from nomdesk.service import Service
from nomdesk.unit_links_office import issue_link
from storage.unit_links import LinkRefused
from tests.support.dashboard import (
    LATE,
    LATE_SENDER,
    NOW,
    OFFICE_PASSWORD,
    OFFICE_USER,
    form_csrf,
    login,
    running_server,
)

PUBLIC = "https://nomdesk.jyt.jl.gov.cn"
NEW_LINK = re.compile(r'<section class="card" id="new-link".*?value="([^"]+)"', re.S)


@pytest.fixture
def linked(data_dir: Path, campaign: Campaign) -> Iterator[Service]:
    """The seeded dashboard's service, with the desk's public address set."""
    settings = Settings(data_dir=data_dir, public_url=PUBLIC)
    service = Service.build(settings, campaign, clock=lambda: NOW)
    yield service
    service.shutdown()


@pytest.fixture
def office(linked: Service) -> Iterator[TestClient]:
    with TestClient(create_app(linked), base_url="http://127.0.0.1") as client:
        assert login(client).status_code == 303
        yield client


def _zhao(service: Service) -> int:
    contact = service.store.contacts.owner_of_address(LATE_SENDER)
    assert contact is not None and contact.unit_name == LATE
    return contact.id


def _token(url: str) -> str:
    assert url.startswith(PUBLIC + "/u/")
    return url.removeprefix(PUBLIC + "/u/")


def test_reissue_shows_the_new_link_once_and_the_old_one_is_refused(office: TestClient, linked: Service) -> None:
    store, zhao = linked.store, _zhao(linked)
    old = _token(issue_link(store, linked.campaign, linked.settings, zhao))
    page = office.get(f"/contacts?unit={LATE}").text
    assert f'action="/contacts/{zhao}/link/reissue"' in page and f'action="/contacts/{zhao}/link/revoke"' in page
    assert "重新生成链接" in page and "作废链接" in page and 'id="new-link"' not in page

    answer = office.post(f"/contacts/{zhao}/link/reissue", data={"csrf": form_csrf(page)})
    assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store"
    (shown,) = NEW_LINK.findall(answer.text)
    assert "赵岩" in answer.text and "原链接已作废" in answer.text
    claim = store.unit_links.verify(_token(shown), NOW)
    assert claim.contact_id == zhao and claim.unit == LATE
    with pytest.raises(LinkRefused) as refused:
        store.unit_links.verify(old, NOW)
    assert refused.value.reason == LinkRefused.REVOKED
    assert 'id="new-link"' not in office.get(f"/contacts?unit={LATE}").text  # shown once
    (audit,) = store.audit.entries(action="unit_link.reissued")
    assert audit.actor == f"office:{OFFICE_USER}" and audit.unit_name == LATE


def test_revoke_refuses_every_link_given_so_far(office: TestClient, linked: Service) -> None:
    store, zhao = linked.store, _zhao(linked)
    old = _token(issue_link(store, linked.campaign, linked.settings, zhao))
    page = office.get(f"/contacts?unit={LATE}").text
    answer = office.post(f"/contacts/{zhao}/link/revoke", data={"csrf": form_csrf(page)})
    assert "已作废该联系人的材料页面链接" in answer.text
    with pytest.raises(LinkRefused):
        store.unit_links.verify(old, NOW)
    assert store.audit.entries(action="unit_link.revoked")[0].actor == f"office:{OFFICE_USER}"


def test_without_the_sessions_csrf_token_nothing_changes(office: TestClient, linked: Service) -> None:
    store, zhao = linked.store, _zhao(linked)
    old = _token(issue_link(store, linked.campaign, linked.settings, zhao))
    for action in ("revoke", "reissue"):
        response = office.post(f"/contacts/{zhao}/link/{action}", data={"csrf": "forged"})
        assert response.status_code in (400, 403)
    assert store.unit_links.verify(old, NOW).contact_id == zhao


def test_the_office_reissues_in_chromium(linked: Service, browser: Browser) -> None:
    zhao = _zhao(linked)
    with running_server(create_app(linked)) as url:
        page = browser.new_page()
        page.goto(url + "/login")
        page.fill("input[name=username]", OFFICE_USER)
        page.fill("input[name=password]", OFFICE_PASSWORD)
        page.click("button[type=submit]")
        page.goto(f"{url}/contacts?unit={LATE}")
        page.locator(f'tr[data-contact="{zhao}"]').get_by_role("button", name="重新生成链接").click()
        shown = page.locator("#new-link input").input_value()
        assert linked.store.unit_links.verify(_token(shown), NOW).contact_id == zhao
        page.close()
