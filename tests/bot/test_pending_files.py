"""A file sent in WeCom is never lost once the contact was told "已收到文件".

Its media_id is in the database before that answer: a desk stopped before the download
(here: the download failed, then the desk was shut down) picks it up when started again;
a download that keeps failing is retried with backoff until WeCom's 3 days are over, and
then the contact and the office are told. WeCom is the simulator, the desk and store real.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import hashlib
import io
import itertools
import time
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.answers import Answerer
from bot.callback import WeComBot
from bot.crypto import CallbackCrypto
from bot.files import PendingFiles
from bot.wecom_client import WeComClient
from config import Campaign, load_campaign
from nomdesk.app import create_app
from nomdesk.desk import Desk
from nomdesk.service import Service
from storage.repo import Store
from storage.tables import WeComFileState
from tests.conftest import SHARED
from tests.support.clock import Clock
from tests.support.service import wait_until, wecom_settings
from tests.support.wecom_sim.serve import BackgroundServer
from tests.support.wecom_sim.server import WeComSimulator

CONTACT = "dinglijun"  # 长白山管委会教育科技局's contact
OFFICE = "wuxiaohui"
UNIT = "长白山管委会教育科技局"
_msg_ids = itertools.count(int(time.time()) * 1000 + 500_000)


def _sample_zip() -> tuple[str, bytes]:
    with (SHARED / "samples" / "changbaishan_missing" / "1.eml").open("rb") as fh:
        msg = email.message_from_binary_file(fh, policy=email.policy.default)
    part = next(msg.iter_attachments())
    return part.get_filename(), part.get_content()


@pytest.fixture
def sim() -> Iterator[WeComSimulator]:
    with WeComSimulator() as simulator:
        yield simulator


def test_an_acknowledged_file_survives_a_failed_download_and_a_restart(sim: WeComSimulator, tmp_path: Path) -> None:
    settings = wecom_settings(sim, tmp_path / "data")
    name, data = _sample_zip()
    media_id = sim.add_media(name, data)
    sim.fail_next("media/get", 45009)  # WeCom rate-limits the first download

    first = Service.build(settings, load_campaign())
    try:
        with BackgroundServer(create_app(first)) as server:
            xml = sim.file_message(CONTACT, media_id, next(_msg_ids), file_name=name)
            response = sim.send_callback(server.url + "/wecom/callback", xml)
            ack = ET.fromstring(sim.decrypt_passive_reply(response.text)).findtext("Content") or ""
            assert "已收到文件" in ack
            [row] = wait_until(lambda: [f for f in first.store.wecom_files.all() if f.attempts == 1 and f.last_error])
            assert row.state == WeComFileState.PENDING and "45009" in (row.last_error or "")
    finally:
        first.shutdown()  # the desk stops before the retry is due
    assert not [m for m in sim.sent_messages if "文件已检查" in (m.content or "")]

    second = Service.build(settings, load_campaign())  # a new desk over the same database
    second.poll_interval = 0.1
    second.start()
    try:
        sent = wait_until(
            lambda: [m for m in sim.sent_messages if CONTACT in m.delivered_to and "文件已检查" in (m.content or "")]
        )
        assert "宋丽萍" in (sent[0].content or "")  # the file was read and checked
        assert len(second.store.submissions.of_unit(UNIT)) == 1
        [row] = wait_until(lambda: second.store.wecom_files.all(WeComFileState.DONE))
        assert row.media_id == media_id and row.attempts == 2
    finally:
        second.shutdown()


@pytest.fixture
def parts(sim: WeComSimulator, tmp_path: Path, campaign: Campaign) -> Iterator[tuple[Store, PendingFiles, Clock]]:
    """The worker without its thread: a real store and desk, downloads from the simulator."""
    clock = Clock(dt.datetime(2021, 8, 20, 2, 0, tzinfo=dt.UTC))
    store = Store.open(tmp_path)
    store.directory.sync_units(campaign)
    desk = Desk(wecom_settings(sim, tmp_path), campaign, store, clock=clock)
    client = WeComClient(sim.corp_id, sim.secret, sim.agent_id, api_base=sim.base_url)

    def hand_to_desk(user: str, media_id: str, filename: str) -> None:
        _, data = client.download_media(media_id)
        desk.accept_wecom_file(user, media_id, filename, data)

    def send_text(user: str, text: str) -> None:  # as the service does: queued in the outbox
        key = f"wecom-text:{user}:{hashlib.sha256(text.encode()).hexdigest()[:16]}"
        store.outbox.enqueue(key, channel="wecom", recipients=[user], body_text=text)

    files = PendingFiles(store, hand_to_desk, send_text=send_text, clock=clock, tz=campaign.tz)
    yield store, files, clock
    store.close()


def _wecom_texts(store: Store, user: str) -> list[str]:
    return [r.body_text for r in store.outbox.all() if r.channel == "wecom" and user in r.recipients]


def test_a_failed_download_is_retried_after_a_backoff(sim: WeComSimulator, parts) -> None:
    store, files, clock = parts
    media_id = sim.add_media("推荐表.docx", b"PK\x03\x04 not really a docx")
    files.add("msg:1", CONTACT, media_id, "推荐表.docx")
    sim.fail_next("media/get", -1, times=3)  # busy beyond the client's own short retries
    assert files.run_once() == 1
    assert files.run_once() == 0  # not due yet
    clock.now += dt.timedelta(minutes=1)
    assert files.run_once() == 1
    [row] = store.wecom_files.all()
    assert row.state == WeComFileState.DONE and row.attempts == 2
    assert [r.source_ref for r in store.raw.all()] == [f"wecom:{CONTACT}:{media_id}"]
    assert _wecom_texts(store, CONTACT) == []  # nothing to tell: the file made it


def test_after_three_days_the_contact_and_the_office_are_told(sim: WeComSimulator, parts) -> None:
    store, files, clock = parts
    media_id = sim.add_media("附表2登记表.xlsx", b"PK\x03\x04")
    files.add("msg:2", CONTACT, media_id, "附表2登记表.xlsx")
    for _ in range(12):  # WeCom keeps failing, hour after hour
        sim.fail_next("media/get", 45009)
        files.run_once()
        clock.now += dt.timedelta(hours=1)
    [row] = store.wecom_files.all()
    assert row.state == WeComFileState.PENDING  # still within the 3 days
    clock.now = row.received_at + dt.timedelta(days=3) - dt.timedelta(minutes=1)
    sim.fail_next("media/get", 45009)
    assert files.run_once() == 1
    [row] = store.wecom_files.all()
    assert row.state == WeComFileState.EXPIRED
    [to_contact] = _wecom_texts(store, CONTACT)
    assert "附表2登记表.xlsx" in to_contact and "重新发送" in to_contact
    assert "只保留收到的文件 3 天" in to_contact and "media_id" not in to_contact  # the cause: WeCom's 3 days
    [to_office] = _wecom_texts(store, OFFICE)
    assert UNIT in to_office and CONTACT in to_office and "附表2登记表.xlsx" in to_office
    assert "3 天" in to_office and "45009" in to_office
    assert store.raw.all() == []


def test_a_media_id_wecom_does_not_know_is_given_up_at_once(parts) -> None:
    store, files, _clock = parts
    files.add("msg:3", CONTACT, "sim-no-such-media", "材料.zip")
    assert files.run_once() == 1
    [row] = store.wecom_files.all()
    assert row.state == WeComFileState.EXPIRED and "40007" in (row.last_error or "")
    [to_contact] = _wecom_texts(store, CONTACT)
    # Sent minutes ago: the file did not expire, WeCom does not know its media_id.
    assert "media_id 无效" in to_contact and "3 天" not in to_contact and "过期" not in to_contact
    [to_office] = _wecom_texts(store, OFFICE)
    assert "media_id 无效" in to_office


def test_a_desk_side_failure_is_not_blamed_on_wecom(sim: WeComSimulator, parts) -> None:
    """WeCom refuses the desk's own credentials (40001) until the 3 days are over: the contact's file was
    fine, and is told so, not that it expired or was invalid."""
    store, files, clock = parts
    media_id = sim.add_media("推荐表.docx", b"PK\x03\x04")
    files.add("msg:4", CONTACT, media_id, "推荐表.docx")
    [row] = store.wecom_files.all()
    clock.now = row.received_at + dt.timedelta(days=3) - dt.timedelta(minutes=1)
    sim.fail_next("media/get", 40001)
    assert files.run_once() == 1
    [to_contact] = _wecom_texts(store, CONTACT)
    assert "系统原因" in to_contact and "非文件本身问题" in to_contact
    assert "media_id" not in to_contact and "过期" not in to_contact


# -- images and videos: no file name ------------------------------------------------------------------


@pytest.fixture
def bot(sim: WeComSimulator, tmp_path: Path, campaign: Campaign) -> Iterator[tuple[WeComBot, Desk, Clock]]:
    """The bot over a real store and desk, with 长白山's sample package already checked; its file
    worker's thread stopped, so the test says when the worker runs (`bot.files.run_once()`)."""
    clock = Clock(dt.datetime(2021, 8, 25, 2, 0, tzinfo=dt.UTC))
    store = Store.open(tmp_path)
    store.directory.sync_units(campaign)
    desk = Desk(wecom_settings(sim, tmp_path), campaign, store, clock=clock)
    desk.ingest_file(SHARED / "samples" / "changbaishan_missing" / "1.eml")
    desk.process_pending()
    client = WeComClient(sim.corp_id, sim.secret, sim.agent_id, api_base=sim.base_url)

    def hand_to_desk(user: str, media_id: str, filename: str) -> None:
        _, data = client.download_media(media_id)
        desk.accept_wecom_file(user, media_id, filename, data)

    def send_text(user: str, text: str) -> None:
        key = f"wecom-text:{user}:{hashlib.sha256(text.encode()).hexdigest()[:16]}"
        store.outbox.enqueue(key, channel="wecom", recipients=[user], body_text=text)

    crypto = CallbackCrypto(sim.token, sim.aes_key, sim.corp_id, max_skew_seconds=300)
    answerer = Answerer(store, campaign, clock=clock)
    wecom = WeComBot(store, crypto, answerer, on_file=hand_to_desk, send_text=send_text, clock=clock)
    wecom.files.shutdown()
    yield wecom, desk, clock
    wecom.close()
    store.close()


def _photo() -> bytes:
    _, data = _sample_zip()
    archive = zipfile.ZipFile(io.BytesIO(data))
    return archive.read(next(n for n in archive.namelist() if n.endswith(".jpg")))


def _unmatched(desk: Desk) -> list[str]:
    return [
        str(f.params.get("file")) for f in desk.store.evaluations.current_findings(UNIT) if f.code == "FILE_UNMATCHED"
    ]


def test_an_image_is_told_it_cannot_be_matched_and_how_to_send_it(sim: WeComSimulator, bot) -> None:
    wecom, _desk, _clock = bot
    media_id = sim.add_media("IMG_0001.jpg", _photo(), "image/jpeg")
    receipt = wecom.handle(sim.image_message(CONTACT, media_id, next(_msg_ids))) or ""
    assert "已收到图片" in receipt and "无法归属到任何推荐对象" in receipt
    assert "10 分钟内" in receipt and "回复" in receipt  # name it by replying...
    assert "改用“文件”方式" in receipt and "-照片.jpg」" in receipt  # ...or send it as a named file
    video = wecom.handle(sim.video_message(CONTACT, sim.add_media("v.mp4", b"\x00" * 64), next(_msg_ids))) or ""
    assert "已收到视频" in video and "无法归属到任何推荐对象" in video and "-视频.mp4」" in video


def test_a_contact_names_the_images_they_just_sent(sim: WeComSimulator, bot) -> None:
    wecom, desk, _clock = bot
    photo = _photo()
    for n in range(2):
        media_id = sim.add_media(f"IMG_000{n}.jpg", photo + bytes([n]), "image/jpeg")
        wecom.handle(sim.image_message(CONTACT, media_id, next(_msg_ids)))
    assert wecom.files.run_once() == 0  # held: waiting for a name
    answer = wecom.handle(sim.text_message(CONTACT, "宋丽萍", next(_msg_ids))) or ""
    assert "2 个" in answer and "宋丽萍" in answer
    assert wecom.files.run_once() == 1 and wecom.files.run_once() == 1  # released at once
    desk.process_pending()
    dossier = desk.store.evaluations.latest_dossier(UNIT)
    assert dossier is not None
    [star] = [s for s in dossier.dossier["stars"] if s["name"] == "宋丽萍"]
    names = [p["path"].rsplit("/", 1)[-1] for p in star["photos"]]
    assert len(names) == 2 and all(n.startswith("宋丽萍-image-") for n in names)
    assert _unmatched(desk) == []
    # Named once: the same name again is a question again (her items), not a second naming.
    again = wecom.handle(sim.text_message(CONTACT, "宋丽萍", next(_msg_ids))) or ""
    assert again.startswith("百姓学习之星 宋丽萍：") and "已归入" not in again


def test_a_contact_says_whose_images_they_are_in_a_sentence(sim: WeComSimulator, bot) -> None:
    """ "这张是宋丽萍的照片" (in 繁体 too) names the held image as the bare name does."""
    wecom, _desk, _clock = bot
    media_id = sim.add_media("IMG_0100.jpg", _photo() + b"x", "image/jpeg")
    wecom.handle(sim.image_message(CONTACT, media_id, next(_msg_ids)))
    answer = wecom.handle(sim.text_message(CONTACT, "這張是宋麗萍的照片", next(_msg_ids))) or ""
    assert "1 个" in answer and "已归入“宋丽萍”" in answer
    assert wecom.files.run_once() == 1


def test_an_image_no_one_names_goes_to_the_desk_after_the_window(sim: WeComSimulator, bot) -> None:
    wecom, desk, clock = bot
    wecom.handle(sim.image_message(CONTACT, sim.add_media("IMG.jpg", _photo(), "image/jpeg"), next(_msg_ids)))
    clock.now += wecom.files.naming_window
    # Too late to name it: the text is read as what it says (a question about her items).
    late = wecom.handle(sim.text_message(CONTACT, "宋丽萍", next(_msg_ids))) or ""
    assert late.startswith("百姓学习之星 宋丽萍：") and "已归入" not in late
    assert wecom.files.run_once() == 1
    desk.process_pending()
    [unmatched] = _unmatched(desk)
    assert unmatched.startswith("image-")


def test_a_name_that_is_no_nominee_of_the_unit_is_read_as_a_question(sim: WeComSimulator, bot) -> None:
    wecom, _desk, _clock = bot
    wecom.handle(sim.image_message(CONTACT, sim.add_media("IMG.jpg", _photo(), "image/jpeg"), next(_msg_ids)))
    assert "没有听懂" in (wecom.handle(sim.text_message(CONTACT, "金哲洙", next(_msg_ids))) or "")  # 延边's
    assert "截止时间" in (wecom.handle(sim.text_message(CONTACT, "截止", next(_msg_ids))) or "")
    assert wecom.files.run_once() == 0  # still held for a name


def test_an_image_from_a_unit_with_no_nominees_yet_is_not_held(sim: WeComSimulator, bot) -> None:
    wecom, _desk, _clock = bot
    yanbian = "wufengxia"  # 延边's contact: nothing received from 延边 yet, so no name to reply with
    receipt = wecom.handle(sim.image_message(yanbian, sim.add_media("I.jpg", _photo()), next(_msg_ids))) or ""
    assert "无法归属到任何推荐对象" in receipt and "请改用“文件”方式重新发送" in receipt
    assert "分钟内" not in receipt and "张三-照片.jpg" in receipt
    assert wecom.files.run_once() == 1  # straight to the desk: waiting would be for nothing
