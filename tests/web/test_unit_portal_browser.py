"""A unit contact on her phone: Debian's Chromium (390x844, mobile) opens her link, replaces a
photo, removes a file, withdraws a nominee and restores it; the page shows each new state and
never scrolls sideways. A screenshot of the page is written under the test's temp dir."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from nomdesk.service import Service
from storage.unit_links import link_expiry, link_path
from tests.support.browser import VIEWPORTS
from tests.support.dashboard import COMPLETE
from tests.support.media import make_photo

STAR = "朴英子"


@pytest.fixture
def phone(browser: Browser, server: str, service: Service) -> Iterator[Page]:
    contact = service.store.contacts.list(COMPLETE)[0]
    token = service.store.unit_links.token_for(contact.id, link_expiry(service.campaign))
    context = browser.new_context(viewport=VIEWPORTS["phone"], is_mobile=True, has_touch=True, locale="zh-CN")
    page = context.new_page()
    page.goto(server + link_path(token))
    yield page
    context.close()


def fits(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= page.evaluate("window.innerWidth")


def file_item(page: Page, name: str) -> Locator:
    return page.locator(f'li.portal-file[data-file="{name}"]')


def card(page: Page, name: str) -> Locator:
    return page.locator(f'article[data-nominee="{name}"]')


def test_a_contact_fixes_her_units_materials_on_her_phone(phone: Page, tmp_path: Path) -> None:
    page = phone
    expect(page.locator("#unit-name")).to_have_text(COMPLETE)
    expect(page.locator("#unit-state")).to_have_text("材料齐全")
    expect(file_item(page, f"{STAR}事迹照片1.jpg").locator("img")).to_be_visible()
    fits(page)
    page.screenshot(path=str(tmp_path / "unit-page-phone.png"), full_page=True)

    new_photo = tmp_path / "事迹照片新.jpg"
    new_photo.write_bytes(make_photo(900, 600, text="新照片").read_bytes())
    old = file_item(page, f"{STAR}事迹照片1.jpg")
    old.get_by_text("替换或删除").click()
    old.locator('input[type="file"]').set_input_files(str(new_photo))
    old.get_by_role("button", name="替换", exact=True).click()
    expect(page.locator("#done")).to_contain_text("已替换该文件")
    expect(file_item(page, f"{STAR}事迹照片1.jpg")).to_have_count(0)
    expect(file_item(page, f"{STAR}_事迹照片新.jpg")).to_have_count(1)
    fits(page)

    gone = file_item(page, f"{STAR}生活照.jpg")
    gone.get_by_text("替换或删除").click()
    gone.get_by_role("button", name="删除此文件").click()
    expect(page.locator("#done")).to_contain_text("已删除该文件")
    expect(file_item(page, f"{STAR}生活照.jpg")).to_have_count(0)
    fits(page)

    star = card(page, STAR)
    star.get_by_text("撤回该推荐对象").click()
    star.get_by_role("button", name="撤回", exact=True).click()  # the box not ticked: nothing sent
    expect(card(page, STAR)).to_have_count(1)
    star.get_by_label(f"确认撤回 {STAR}").check()
    star.get_by_role("button", name="撤回", exact=True).click()
    expect(page.locator("#done")).to_contain_text("已撤回该推荐对象")
    expect(card(page, STAR)).to_have_count(0)
    withdrawn = page.locator(f'li[data-withdrawn="{STAR}"]')
    expect(withdrawn).to_contain_text("本单位材料页面撤回")
    fits(page)

    withdrawn.get_by_role("button", name="恢复").click()
    expect(page.locator("#done")).to_contain_text("已恢复该推荐对象")
    expect(card(page, STAR)).to_have_count(1)
    expect(page.locator(f'li[data-withdrawn="{STAR}"]')).to_have_count(0)
    fits(page)
