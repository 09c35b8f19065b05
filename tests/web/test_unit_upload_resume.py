"""A unit contact on her phone sends a 300 MB video over a connection that drops halfway: she
closes the page, the network comes back, she opens her link again and picks the same file, and the
upload goes on from where the desk stopped receiving, not from zero. Then the page shows what the
desk found in the video. Debian's Chromium (phone viewport) through a TCP proxy that cuts the line."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from nomdesk.service import Service
from storage.unit_links import link_expiry, link_path
from tests.support.big_video import big_video, probed_seconds
from tests.support.browser import VIEWPORTS
from tests.support.dashboard import COMPLETE
from tests.support.drop_proxy import DropProxy, drop_proxy

pytestmark = pytest.mark.slow
STAR = "朴英子"
VIDEO_NAME = "宣传片新.mp4"
UPLOAD_SECONDS = 240  # a 300 MB upload on a loaded 2-core runner, checked by the desk


@pytest.fixture
def proxy(server: str) -> Iterator[DropProxy]:
    with drop_proxy(server) as p:
        yield p


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """One phone browser: what tus keeps in localStorage outlives a closed page, as on a phone."""
    context = browser.new_context(viewport=VIEWPORTS["phone"], is_mobile=True, has_touch=True, locale="zh-CN")
    yield context
    context.close()


def open_link(context: BrowserContext, url: str) -> Page:
    page = context.new_page()
    page.goto(url)
    expect(page.locator("#unit-upload .uppy-Dashboard")).to_be_visible()
    return page


def choose(page: Page, video: str) -> None:
    page.locator("#unit-upload-nominee").select_option(STAR)
    page.locator("#unit-upload-dashboard input[type=file]").first.set_input_files(video)


def test_a_big_video_resumes_after_the_line_drops(
    context: BrowserContext, proxy: DropProxy, service: Service, tmp_path: Path
) -> None:
    video = tmp_path / VIDEO_NAME
    video.symlink_to(big_video())  # the name she sees, without copying 300 MB
    size = video.stat().st_size
    assert probed_seconds(video) == pytest.approx(6, abs=0.5)  # padded, still a video ffprobe reads
    contact = service.store.contacts.list(COMPLETE)[0]
    url = proxy.url + link_path(service.store.unit_links.token_for(contact.id, link_expiry(service.campaign)))

    page = open_link(context, url)
    proxy.count_from_zero()
    proxy.drop_after(size // 2)
    choose(page, str(video))
    deadline = time.monotonic() + UPLOAD_SECONDS
    while proxy.up:  # the line drops halfway through
        assert time.monotonic() < deadline, "the upload never got halfway"
        time.sleep(0.2)
    page.close()

    proxy.enable()
    page = open_link(context, url)
    proxy.count_from_zero()
    choose(page, str(video))
    expect(page.locator("#unit-upload-status")).to_contain_text("已上传", timeout=UPLOAD_SECONDS * 1000)
    second = proxy.sent
    assert second < 0.6 * size, f"the second try sent {second} of {size} bytes: it started over"

    # Checked, the page reloads itself and shows the video under its nominee with what was found.
    video_item = page.locator(f'article[data-nominee="{STAR}"] li.portal-file', has_text=VIDEO_NAME)
    expect(video_item).to_have_count(1, timeout=UPLOAD_SECONDS * 1000)
    expect(video_item).to_contain_text("0分06秒")
    expect(page.locator(f'article[data-nominee="{STAR}"]')).to_contain_text(f"视频 {STAR}_{VIDEO_NAME} 不符合技术要求")
    expect(page.locator(f'article[data-nominee="{STAR}"]')).to_contain_text("时长 6秒，要求 4-5 分钟")
