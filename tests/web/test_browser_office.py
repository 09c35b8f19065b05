"""The office's own pages in a real browser (Debian's Chromium, Playwright, uvicorn): a contact added
and a sheet imported on 联系人, a waiting mail confirmed in one click on 待确认, a bulk message
previewed (nothing queued) and then sent on 群发."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from nomdesk.service import Service
from tests.support.browser import CHROMIUM, VIEWPORTS, log_in
from tests.support.dashboard import CLAIMED_UNIT, UNKNOWN_SENDER
from tests.support.sheets import workbook_bytes

CHANGCHUN = "长春市教育局"

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian package chromium is not installed")


@pytest.fixture
def page(browser: Browser, server: str) -> Iterator[Page]:
    context = browser.new_context(viewport=VIEWPORTS["desktop"], locale="zh-CN")
    try:
        page = context.new_page()
        log_in(page, server)
        yield page
    finally:
        context.close()


def broadcast_rows(service: Service) -> list:
    return [r for r in service.store.outbox.all() if r.dedupe_key.startswith("broadcast:")]


def test_the_office_adds_a_contact_and_imports_a_sheet(page: Page, server: str, tmp_path: Path) -> None:
    page.get_by_role("link", name="联系人", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("联系人")
    form = page.locator("#add-form")
    form.get_by_label("单位").select_option(CHANGCHUN)
    form.get_by_label("姓名").fill("李明")
    form.get_by_label("电话").fill("0431-88886666")
    form.get_by_label("邮箱").fill("liming@ccedu.cn")
    form.get_by_role("button", name="添加联系人").click()
    expect(page.get_by_role("status")).to_contain_text("已添加联系人")
    row = page.locator(f'tr[data-unit="{CHANGCHUN}"]')
    expect(row).to_contain_text("李明")
    expect(row).to_contain_text("liming@ccedu.cn")

    sheet = tmp_path / "联系人.xlsx"
    sheet.write_bytes(
        workbook_bytes(
            [
                ["单位", "联系人", "邮箱"],
                ["吉林市教育局", "孙红", "sunhong@jlsedu.cn"],
                ["火星市教育局", "张三", "zhangsan@163.com"],
            ]
        )
    )
    page.get_by_label("联系人表（.xlsx）").set_input_files(sheet)
    page.get_by_role("button", name="导入", exact=True).click()
    result = page.locator("#import-result")
    expect(result).to_contain_text("新增 1 人")
    expect(result).to_contain_text("第 3 行")
    expect(result).to_contain_text("火星市教育局")
    expect(page.locator('tr[data-unit="吉林市教育局"]')).to_contain_text("孙红")

    # The office's pages fit a phone without sideways scrolling.
    page.set_viewport_size(VIEWPORTS["phone"])
    for path in ("/contacts", "/waiting", "/broadcast"):
        page.goto(server + path)
        assert page.evaluate("document.documentElement.scrollWidth") <= page.evaluate("window.innerWidth"), path


def test_a_waiting_mail_is_confirmed_in_one_click(page: Page, service: Service, waiting_id: int) -> None:
    page.reload()
    page.get_by_role("link", name="待确认 (1)").click()
    card = page.locator(f'article[data-submission="{waiting_id}"]')
    expect(card).to_contain_text(UNKNOWN_SENDER)
    expect(card).to_contain_text("活动照片.jpg")
    card.get_by_role("button", name=f"确认为 {CLAIMED_UNIT} 的联系人并受理").click()
    expect(page.get_by_role("status")).to_contain_text(f"已将邮件归入“{CLAIMED_UNIT}”")
    expect(page.get_by_role("status")).to_contain_text(f"发件人已登记为“{CLAIMED_UNIT}”的联系人")
    expect(page.get_by_text("没有待确认的邮件")).to_be_visible()
    expect(page.get_by_role("link", name="待确认 (0)")).to_be_visible()
    assert [c.emails for c in service.store.contacts.list(CLAIMED_UNIT)] == [[UNKNOWN_SENDER]]


def test_a_bulk_message_is_previewed_before_it_goes(page: Page, service: Service) -> None:
    service.store.contacts.add(CHANGCHUN, "李明", emails=["liming@ccedu.cn"])
    page.get_by_role("link", name="群发").click()
    expect(page.get_by_label("未报送的单位")).to_be_checked()
    page.get_by_label("标题").fill("请尽快报送推荐材料")
    page.get_by_label("内容").fill("请于本周内报送推荐材料。\n纸质材料请按通知邮寄。")
    page.get_by_role("button", name="预览").click()
    targets = page.locator("#broadcast-targets")
    expect(targets.locator(f'tr[data-target="{CHANGCHUN}"]')).to_contain_text("liming@ccedu.cn")
    expect(page.locator(f'#broadcast-unreachable [data-unreachable="{CLAIMED_UNIT}"]')).to_contain_text("未登记联系人")
    expect(page.locator("#broadcast-preview")).to_contain_text("请于本周内报送推荐材料。")
    assert broadcast_rows(service) == []  # a preview sends nothing

    page.get_by_role("button", name="确认发送").click()
    expect(page.locator("#broadcast-result")).to_contain_text("已排入发送队列 1 条")
    [row] = broadcast_rows(service)
    assert row.unit_name == CHANGCHUN and row.recipients == ["liming@ccedu.cn"] and row.channel == "mail"
    assert "请于本周内报送推荐材料。\n纸质材料请按通知邮寄。\n" in row.body_text  # as typed, lines kept
