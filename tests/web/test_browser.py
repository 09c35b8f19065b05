"""The dashboard in a real browser: Debian's Chromium driven by Playwright against uvicorn.

Screenshots of the campaign page and a unit page (laptop 1366x768 and phone 390x844) are
written under the test's temp dir, for a person to look at.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pytest
from openpyxl import load_workbook
from playwright.sync_api import Browser, expect

from nomdesk.service import Service
from tests.support.browser import CHROMIUM, VIEWPORTS, log_in
from tests.support.dashboard import (
    COMPLETE,
    EXPECTED_LATE,
    EXPECTED_STATES,
    INCOMPLETE,
    LATE,
)

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian package chromium is not installed")


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_office_works_through_the_dashboard(
    browser: Browser, server: str, service: Service, tmp_path: Path, viewport: str
) -> None:
    context = browser.new_context(viewport=VIEWPORTS[viewport], accept_downloads=True, locale="zh-CN")
    page = context.new_page()
    try:
        log_in(page, server)

        # The campaign page: every unit, each in its state's colour, a late one marked 逾期 beside it.
        for unit, state in EXPECTED_STATES.items():
            row = page.locator(f'tr[data-unit="{unit}"]')
            expect(row).to_have_attribute("data-state", state)
            expect(row.locator(f".badge.state-{state}")).to_be_visible()
            expect(row.locator(".badge.state-late")).to_have_count(1 if unit in EXPECTED_LATE else 0)
        colours = {
            state: page.locator(f'tr[data-unit="{unit}"] .badge.state-{state}').evaluate(
                "e => getComputedStyle(e).color"
            )
            for unit, state in EXPECTED_STATES.items()
        }
        late = page.locator(f'tr[data-unit="{next(iter(EXPECTED_LATE))}"] .badge.state-late')
        expect(late).to_have_text("逾期")
        colours["late"] = late.evaluate("e => getComputedStyle(e).color")
        assert len(set(colours.values())) == 4, colours
        expect(page.locator("#countdown")).to_contain_text("截止")
        page.screenshot(path=tmp_path / f"campaign-{viewport}.png", full_page=viewport == "desktop")

        # The roster, downloaded as the office does.
        with page.expect_download() as info:
            page.get_by_role("link", name="下载推荐名单").click()
        saved = tmp_path / "roster.xlsx"
        info.value.save_as(saved)
        rows = list(load_workbook(saved)["百姓学习之星"].iter_rows(values_only=True))
        stars = [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
        by_name = {r["姓名"]: r["推荐单位"] for r in stars}
        assert by_name["金哲洙"] == COMPLETE and by_name["宋丽萍"] == INCOMPLETE

        # A unit page: its dossier per nominee, photos as thumbnails that load.
        page.get_by_role("link", name=COMPLETE).click()
        expect(page.get_by_role("heading", level=1)).to_contain_text(COMPLETE)
        card = page.locator('article[data-nominee="金哲洙"]')
        expect(card).to_contain_text("百姓学习之星")
        thumb = card.locator("img").first
        thumb.scroll_into_view_if_needed()
        expect(thumb).to_have_js_property("complete", True)
        assert thumb.evaluate("img => img.naturalWidth") > 0
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=tmp_path / f"unit-{viewport}.png", full_page=viewport == "desktop")

        # Mark the paper copies received.
        expect(page.locator("#paper-state")).to_have_text("未收")
        page.get_by_label("纸质材料收到日期").fill("2021-09-01")
        page.get_by_role("button", name="记录纸质材料已收到").click()
        expect(page.get_by_role("status")).to_contain_text("已记录纸质材料收到")
        expect(page.locator("#paper-state")).to_have_text("已收（2021-09-01）")
        assert service.store.state.paper_received(COMPLETE)
    finally:
        context.close()


def test_a_request_without_a_session_is_refused(browser: Browser, server: str) -> None:
    context = browser.new_context()
    try:
        page = context.new_page()
        response = page.goto(f"{server}/units/{quote(COMPLETE)}")
        assert response is not None and page.url.startswith(server + "/login")
        expect(page.get_by_role("heading", name="办公室登录")).to_be_visible()
        expect(page.get_by_text("金哲洙")).to_have_count(0)
        direct = context.request.get(f"{server}/exports/roster.xlsx", max_redirects=0)
        assert direct.status == 303 and direct.headers["location"].startswith("/login")
        posted = context.request.post(f"{server}/units/{quote(COMPLETE)}/paper", max_redirects=0)
        assert posted.status == 303
    finally:
        context.close()


def test_the_campaign_page_fits_a_phone_without_sideways_scrolling(browser: Browser, server: str) -> None:
    context = browser.new_context(viewport=VIEWPORTS["phone"], locale="zh-CN")
    page = context.new_page()
    try:
        log_in(page, server)
        for path in ("/", "/?state=late", *(f"/units/{quote(unit)}" for unit in (COMPLETE, INCOMPLETE, LATE))):
            page.goto(server + path)
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= page.evaluate("window.innerWidth"), (path, width)
    finally:
        context.close()
