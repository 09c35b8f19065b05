"""A unit page's downloads in a real browser (Debian's Chromium, Playwright, uvicorn): the office
clicks 下载全部材料 and gets the unit's tree exactly as `nomdesk export materials` writes it, with
the roster at the root whose links open the files; and clicks one file and gets its bytes."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, unquote

import pytest
from openpyxl import load_workbook
from playwright.sync_api import Browser, Page, expect

from nomdesk.exports import MANIFEST, ROSTER_FILE, STARS_DIR, export_materials
from nomdesk.service import Service
from schedule.status import collect_status
from tests.support.browser import CHROMIUM, VIEWPORTS, log_in
from tests.support.dashboard import COMPLETE

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian package chromium is not installed")


@pytest.fixture
def page(browser: Browser, server: str) -> Iterator[Page]:
    context = browser.new_context(viewport=VIEWPORTS["desktop"], locale="zh-CN", accept_downloads=True)
    try:
        page = context.new_page()
        log_in(page, server)
        page.goto(f"{server}/units/{quote(COMPLETE)}")
        yield page
    finally:
        context.close()


def test_the_units_zip_is_the_exported_tree(page: Page, service: Service, tmp_path: Path) -> None:
    with page.expect_download() as info:
        page.get_by_role("link", name="下载全部材料（.zip）").click()
    download = info.value
    assert download.suggested_filename == f"{COMPLETE}-材料.zip"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)

    # What `nomdesk export materials` writes for the same unit, file for file and byte for byte.
    statuses = [s for s in collect_status(service.store, service.campaign) if s.name == COMPLETE]
    tree = tmp_path / "export"
    export_materials(service.store, statuses, tree)
    exported = {
        p.relative_to(tree).as_posix(): p.read_bytes() for p in tree.rglob("*") if p.is_file() and p.name != MANIFEST
    }
    with zipfile.ZipFile(saved) as archive:
        assert archive.testzip() is None
        zipped = {name: archive.read(name) for name in archive.namelist()}
    assert set(zipped) == set(exported) and len(zipped) > 10
    assert all(zipped[name] == exported[name] for name in zipped if name != ROSTER_FILE)
    assert any(name.startswith(f"{COMPLETE}/{STARS_DIR}/") for name in zipped)

    # The roster at its root links to files that are in the archive.
    stars = load_workbook(io.BytesIO(zipped[ROSTER_FILE]))[STARS_DIR]
    links = [unquote(c.hyperlink.target) for row in stars.iter_rows(min_row=2) for c in row if c.hyperlink]
    files = [link for link in links if link in zipped]
    assert files and all(link in zipped or any(n.startswith(link + "/") for n in zipped) for link in links)


def test_one_file_downloads_with_its_bytes(page: Page, service: Service, tmp_path: Path) -> None:
    section = page.locator("#downloads")
    section.locator("summary").first.click()
    link = section.locator("a[data-file]").first
    expect(link).to_be_visible()
    path = link.get_attribute("data-file")
    with page.expect_download() as info:
        link.click()
    download = info.value
    assert path and download.suggested_filename == path.rsplit("/", 1)[-1]
    saved = tmp_path / "file"
    download.save_as(saved)
    store = service.store
    record = next(
        f for s in store.submissions.of_unit(COMPLETE) for f in store.submissions.files(s.id) if f.path == path
    )
    assert saved.read_bytes() == store.submissions.file_path(record).read_bytes() and record.size > 0
