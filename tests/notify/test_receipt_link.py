"""Receipts carry the recipient's own unit page link (issue 17): a reply to a contact's mail gives
hers, the receipt of a file the office attached gives the unit's first registered contact's; the link
opens that unit's page and no other; with no public address configured, no receipt carries a link."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from config.campaign import Campaign
from config.settings import Settings
from nomdesk.desk import Desk
from storage.repo import Store
from storage.tables import OutboxRecord
from storage.unit_link_urls import LINK_LINE_ZH, contact_link
from storage.unit_links import link_expiry
from tests.conftest import SHARED
from tests.support.clock import Clock
from tests.support.media import make_photo
from tests.support.service import body_text

UNIT = "延边朝鲜族自治州教育局"
SENDER = "ybjyj_zcjy@163.com"  # 延边州's registered contact (伍凤霞)
FIRST = SHARED / "samples" / "yanbian_complete" / "1.eml"
PUBLIC = "https://nomdesk.jyt.jl.gov.cn"
START = dt.datetime(2021, 8, 21, 6, 0, tzinfo=dt.UTC)
LINK = re.compile(re.escape(LINK_LINE_ZH) + r"(\S+)")


@pytest.fixture
def store(tmp_path: Path, campaign: Campaign) -> Iterator[Store]:
    with Store.open(tmp_path / "var") as store:
        store.directory.sync_units(campaign)
        yield store


def _desk(tmp_path: Path, campaign: Campaign, store: Store, public_url: str | None) -> Desk:
    settings = Settings(data_dir=tmp_path / "var", reply_rate_per_hour=20, public_url=public_url)
    return Desk(settings, campaign, store, clock=Clock(START, step=dt.timedelta(seconds=1)))


def _receive(desk: Desk, tmp_path: Path) -> OutboxRecord:
    path = tmp_path / "1.eml"
    path.write_bytes(FIRST.read_bytes())
    record = desk.ingest_file(path, received_at=START)
    desk.process_pending()
    (reply,) = [o for o in desk.store.outbox.all() if o.raw_message_id == record.id]
    return reply


def _mailed_link(store: Store, row: OutboxRecord) -> str:
    """The link as the unit reads it: from the .eml the outbox sends, text and HTML parts alike."""
    eml = store.outbox.eml(row)
    assert eml is not None
    msg = email.message_from_bytes(eml, policy=email.policy.default)
    (link,) = LINK.findall(body_text(msg))  # type: ignore[arg-type]
    html = msg.get_body(("html",))
    assert html is not None and f'href="{link}"' in html.get_content()
    return link


def test_a_reply_carries_the_senders_own_link_and_it_opens_her_unit_only(
    tmp_path: Path, campaign: Campaign, store: Store
) -> None:
    desk = _desk(tmp_path, campaign, store, PUBLIC)
    reply = _receive(desk, tmp_path)
    assert reply.recipients == [SENDER]
    link = _mailed_link(store, reply)
    assert link.startswith(PUBLIC + "/u/")

    claim = store.unit_links.verify(link.removeprefix(PUBLIC + "/u/"), START)
    contact = store.contacts.owner_of_address(SENDER)
    assert contact is not None
    assert claim.unit == UNIT and claim.contact_id == contact.id and claim.contact_name == contact.name
    assert claim.expires_at == link_expiry(campaign)


def test_an_office_attachments_receipt_to_the_contacts_carries_the_first_contacts_link(
    tmp_path: Path, campaign: Campaign, store: Store
) -> None:
    desk = _desk(tmp_path, campaign, store, PUBLIC)
    _receive(desk, tmp_path)
    photo = make_photo(800, 600, text="网盘照片").read_bytes()
    record = desk.attach(UNIT, "活动照片.jpg", photo, actor="office:wu", for_name="金哲洙")
    desk.process_pending()
    (receipt,) = [o for o in store.outbox.all() if o.raw_message_id == record.id]
    first = store.contacts.list(UNIT)[0]
    assert receipt.recipients == first.emails
    link = _mailed_link(store, receipt)
    assert store.unit_links.verify(link.removeprefix(PUBLIC + "/u/"), START).contact_id == first.id


def test_no_public_url_no_link_anywhere(tmp_path: Path, campaign: Campaign, store: Store) -> None:
    desk = _desk(tmp_path, campaign, store, None)
    reply = _receive(desk, tmp_path)
    eml = store.outbox.eml(reply)
    assert eml is not None and reply.body_text
    assert LINK_LINE_ZH not in reply.body_text and "/u/" not in reply.body_text
    assert b"/u/" not in eml


def test_no_link_is_given_once_links_expired_nor_to_the_office(campaign: Campaign, store: Store) -> None:
    contact = store.contacts.owner_of_address(SENDER)
    assert contact is not None
    expiry = link_expiry(campaign)
    assert contact_link(store, campaign, PUBLIC, contact.id, now=expiry - dt.timedelta(seconds=1))
    assert contact_link(store, campaign, PUBLIC, contact.id, now=expiry) is None
    office = store.contacts.list(office=True)
    assert office and all(contact_link(store, campaign, PUBLIC, c.id, now=START) is None for c in office)


def test_a_wecom_file_is_answered_in_her_chat_with_her_own_link(
    tmp_path: Path, campaign: Campaign, store: Store
) -> None:
    desk = _desk(tmp_path, campaign, store, PUBLIC)
    photo = make_photo(800, 600, text="金哲洙").read_bytes()
    record = desk.accept_wecom_file("wufengxia", "media-1", "金哲洙生活照1.jpg", photo)
    desk.process_pending()
    answer = store.outbox.by_key(f"wecom-reply:{record.id}")
    assert answer is not None and answer.recipients == ["wufengxia"]
    (link,) = LINK.findall(answer.body_text)
    claim = store.unit_links.verify(link.removeprefix(PUBLIC + "/u/"), START)
    contact = store.contacts.owner_of_wecom_user("wufengxia")
    assert contact is not None and claim.contact_id == contact.id and claim.unit == UNIT
    # before the files received: a phone shows the first 2048 bytes as the message
    assert answer.body_text.index(link) < answer.body_text.index("本次收到 1 个文件")
