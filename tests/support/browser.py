"""A real headless Chromium (Debian's package, driven by Playwright) for the dashboard's browser
tests: how it is launched, the screen sizes pages must fit, and the office's login."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.support.dashboard import OFFICE_NAME, OFFICE_PASSWORD, OFFICE_USER

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORTS = {"desktop": {"width": 1366, "height": 768}, "phone": {"width": 390, "height": 844}}


def launched() -> Iterator[Browser]:
    """One browser for a test module (a module-scoped fixture yields from this)."""
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        browser.close()


def log_in(page: Page, server: str) -> None:
    page.goto(server + "/")
    expect(page).to_have_url(server + "/login")  # no session: sent to the login page
    page.get_by_label("用户名").fill(OFFICE_USER)
    page.get_by_label("密码").fill(OFFICE_PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(server + "/")
    expect(page.get_by_text(OFFICE_NAME)).to_be_visible()
