"""A mail whose video came as a transfer link (LINK_PENDING): the receipt's line about that link
tells the unit it can upload the file on its own page instead of waiting for the office to fetch
it, with the recipient's link; a desk with no public address says nothing of a page."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from config.campaign import Campaign
from config.settings import Settings
from nomdesk.desk import Desk
from notify.unit_page import LINK_PENDING_UPLOAD_ZH
from storage.repo import Store
from storage.tables import OutboxRecord
from storage.unit_link_urls import LINK_LINE_ZH
from tests.support.clock import Clock
from tests.support.mail import attachment, filename_rfc2047
from tests.support.media import make_photo
from tests.support.service import mail

SENDER = "ybjyj_zcjy@163.com"  # 延边州's registered contact
COW = "https://cowtransfer.com/s/8a3f2c1d9e4b5a"
PUBLIC = "https://nomdesk.jyt.jl.gov.cn"
START = dt.datetime(2021, 8, 21, 6, 0, tzinfo=dt.UTC)


@pytest.fixture
def store(tmp_path: Path, campaign: Campaign) -> Iterator[Store]:
    with Store.open(tmp_path / "var") as store:
        store.directory.sync_units(campaign)
        yield store


def _receipt(tmp_path: Path, campaign: Campaign, store: Store, public_url: str | None) -> OutboxRecord:
    settings = Settings(data_dir=tmp_path / "var", reply_rate_per_hour=20, public_url=public_url)
    desk = Desk(settings, campaign, store, clock=Clock(START, step=dt.timedelta(seconds=1)))
    photo = make_photo(800, 600, text="金哲洙").read_bytes()
    raw = mail(
        SENDER,
        subject="延边州 补充材料",
        text=f"金哲洙的视频较大，用奶牛快传发送：\n{COW} 取件码：6b2k",
        parts=[attachment(photo, filename_rfc2047("金哲洙生活照1.jpg"), content_type="image/jpeg")],
    )
    path = tmp_path / "a.eml"
    path.write_bytes(raw)
    record = desk.ingest_file(path, received_at=START)
    desk.process_pending()
    (reply,) = [o for o in store.outbox.all() if o.raw_message_id == record.id]
    return reply


def _link_pending_lines(text: str) -> list[str]:
    """The finding's line ("cowtransfer.com") and its hint on the next line."""
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if "cowtransfer.com" in line)
    return lines[at : at + 2]


def test_the_link_pending_line_offers_the_units_page_with_her_link(
    tmp_path: Path, campaign: Campaign, store: Store
) -> None:
    reply = _receipt(tmp_path, campaign, store, PUBLIC)
    own = next(line for line in reply.body_text.splitlines() if line.startswith(LINK_LINE_ZH))
    link = own.removeprefix(LINK_LINE_ZH)
    finding, hint = _link_pending_lines(reply.body_text)
    assert "需由省级办公室手动下载" in finding
    assert f"{LINK_PENDING_UPLOAD_ZH}：{link}" in hint
    assert "也可以打开本单位材料页面直接上传该文件，无需等待办公室下载" in hint
    assert store.unit_links.verify(link.removeprefix(PUBLIC + "/u/"), START).unit == "延边朝鲜族自治州教育局"
    assert reply.body_html is not None and LINK_PENDING_UPLOAD_ZH in reply.body_html


def test_without_a_public_url_the_line_says_only_that_the_office_fetches_it(
    tmp_path: Path, campaign: Campaign, store: Store
) -> None:
    reply = _receipt(tmp_path, campaign, store, None)
    finding, hint = _link_pending_lines(reply.body_text)
    assert "需由省级办公室手动下载" in finding and hint.strip().startswith("修改建议：省级办公室下载后会补充核查")
    assert LINK_PENDING_UPLOAD_ZH not in reply.body_text and "/u/" not in reply.body_text
