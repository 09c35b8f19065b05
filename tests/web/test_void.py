"""作废 on the unit page: each submission has a void button with a reason, behind the login and the
form token; a voided submission stays listed, greyed, with who voided it, when and why, and the
dossier shown is rebuilt without it. One test clicks it in a real browser."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, Page, expect

from config.campaign import Campaign
from nomdesk.service import Service
from tests.support.browser import CHROMIUM, VIEWPORTS, log_in
from tests.support.dashboard import COMPLETE, form_csrf
from tests.support.extra_star import FORGED_STAR, extra_star_mail

UNIT = f"/units/{quote(COMPLETE)}"
REASON = "冒用联系人邮箱发送"


@pytest.fixture
def forged_id(service: Service, campaign: Campaign, tmp_path: Path) -> int:
    """A second mail in 延边州's name (延边-02) adding one star, processed by the running pipeline."""
    record = service.desk.ingest_file(extra_star_mail(campaign, tmp_path / "forged.eml"))
    assert service.desk.await_processed(record.id or 0, 30) is not None
    row = service.store.submissions.for_raw(record.id or 0)
    assert row is not None and row.unit_index == 2
    return row.id or 0


def cards(page: str) -> set[str]:
    return set(re.findall(r'data-nominee="([^"]+)"', page))


def voided_rows(page: str) -> list[str]:
    return re.findall(r'<tr class="voided" data-submission="([^"]+)">', page)


def test_void_from_the_unit_page_greys_the_submission_and_rebuilds_the_dossier(
    office: TestClient, service: Service, forged_id: int
) -> None:
    page = office.get(UNIT).text
    assert FORGED_STAR in cards(page)
    assert f'action="{UNIT}/void"' in page and "确认作废 延边-02" in page and voided_rows(page) == []

    csrf = form_csrf(page)
    data = {"csrf": csrf, "submission_id": str(forged_id), "reason": REASON}
    response = office.post(f"{UNIT}/void", data=data, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].endswith("?done=void")
    page = html.unescape(office.get(response.headers["location"]).text)
    assert "已作废该次报送" in page
    assert FORGED_STAR not in cards(page) and "金哲洙" in cards(page)
    assert voided_rows(page) == ["延边-02"]
    assert re.search(rf"wu 于 \d{{4}}-\d\d-\d\d \d\d:\d\d 作废：{REASON}", page)  # who, when, why
    assert f'action="{UNIT}/unvoid"' in page
    [audit] = service.store.audit.entries(unit_name=COMPLETE, action="submission.voided")
    assert audit.actor == "office:wu" and audit.detail["reason"] == REASON

    again = office.post(f"{UNIT}/void", data=data)
    assert again.status_code == 400 and "无需重复操作" in html.unescape(again.text)

    response = office.post(f"{UNIT}/unvoid", data={"csrf": csrf, "submission_id": str(forged_id)})
    page = html.unescape(response.text)
    assert "已撤销作废" in page and voided_rows(page) == [] and FORGED_STAR in cards(page)


def test_void_needs_a_reason_the_form_token_and_the_units_own_submission(
    office: TestClient, service: Service, forged_id: int
) -> None:
    csrf = form_csrf(office.get(UNIT).text)
    blank = office.post(f"{UNIT}/void", data={"csrf": csrf, "submission_id": str(forged_id), "reason": " "})
    assert blank.status_code == 400 and "请填写作废原因" in html.unescape(blank.text)
    forged = office.post(f"{UNIT}/void", data={"csrf": "forged", "submission_id": str(forged_id), "reason": REASON})
    assert forged.status_code == 403
    other = f"/units/{quote('长白山管委会教育科技局')}/void"
    elsewhere = office.post(other, data={"csrf": csrf, "submission_id": str(forged_id), "reason": REASON})
    assert elsewhere.status_code == 404
    assert service.store.audit.entries(action="submission.voided") == []


@pytest.fixture
def page(browser: Browser, server: str) -> Iterator[Page]:
    context = browser.new_context(viewport=VIEWPORTS["desktop"], locale="zh-CN")
    try:
        page = context.new_page()
        log_in(page, server)
        yield page
    finally:
        context.close()


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian package chromium is not installed")
def test_the_office_clicks_void_in_a_browser(page: Page, server: str, forged_id: int) -> None:
    page.goto(f"{server}{UNIT}")
    expect(page.locator(f'[data-nominee="{FORGED_STAR}"]')).to_have_count(1)
    row = page.locator('tr[data-submission="延边-02"]')
    row.get_by_text("作废", exact=True).click()
    row.get_by_label("作废原因").fill(REASON)
    row.get_by_role("button", name="确认作废 延边-02").click()
    expect(page.get_by_role("status")).to_contain_text("已作废该次报送")
    voided = page.locator('tr.voided[data-submission="延边-02"]')
    expect(voided).to_contain_text(f"作废：{REASON}")
    expect(voided).to_contain_text("已作废")
    assert voided.evaluate("row => getComputedStyle(row.cells[0]).textDecorationLine") == "line-through"
    expect(page.locator(f'[data-nominee="{FORGED_STAR}"]')).to_have_count(0)
