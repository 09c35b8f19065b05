"""The callback route itself: a failed answer is retried, a slow one does not stall the port.

A bot over a real store and the shipped campaign, served by uvicorn on loopback; the
simulator encrypts the callbacks as WeCom does. The answerer's paper-receipt hook is the
one seam: it fails or blocks on purpose, as a busy database would.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import logging
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from bot.answers import Answerer
from bot.callback import WeComBot, create_router
from bot.crypto import CallbackCrypto
from config import Campaign
from storage.repo import Store
from tests.support.wecom_sim.serve import BackgroundServer
from tests.support.wecom_sim.server import WeComSimulator

ENVELOPE_LIMIT = 1 << 20  # what the desk reads at most of a callback's body (a real envelope is a few KB)
OFFICE = "wuxiaohui"
CONTACT = "dinglijun"
YANBIAN = "延边朝鲜族自治州教育局"
_msg_ids = itertools.count(int(time.time()) * 1000)


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@contextmanager
def bot_app(
    tmp_path: Path,
    campaign: Campaign,
    *,
    on_paper: Callable[[Store], Callable[[str, dt.date, str], None]] | None = None,
    clock: Callable[[], dt.datetime] = _utcnow,
) -> Iterator[tuple[Store, WeComSimulator, FastAPI]]:
    """The bot's ASGI app over a real store, before it is served."""
    sim = WeComSimulator()  # only its callback side: no API server needed
    store = Store.open(tmp_path)
    store.directory.sync_units(campaign)
    crypto = CallbackCrypto(sim.token, sim.aes_key, sim.corp_id, max_skew_seconds=300)
    answerer = Answerer(store, campaign, clock=clock, on_paper=on_paper(store) if on_paper else None)
    bot = WeComBot(store, crypto, answerer, on_file=None, send_text=None, clock=clock)
    app = FastAPI()
    app.include_router(create_router(bot))

    @app.get("/healthz")
    def healthz() -> dict[str, bool]:
        return {"ok": True}

    try:
        yield store, sim, app
    finally:
        bot.close()
        store.close()


@contextmanager
def served_bot(
    tmp_path: Path,
    campaign: Campaign,
    *,
    on_paper: Callable[[Store], Callable[[str, dt.date, str], None]] | None = None,
    clock: Callable[[], dt.datetime] = _utcnow,
) -> Iterator[tuple[Store, WeComSimulator, BackgroundServer]]:
    with (
        bot_app(tmp_path, campaign, on_paper=on_paper, clock=clock) as (store, sim, app),
        BackgroundServer(app) as server,
    ):
        yield store, sim, server


def _content(sim: WeComSimulator, response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    return ET.fromstring(sim.decrypt_passive_reply(response.text)).findtext("Content") or ""


def test_a_message_whose_handling_failed_is_answered_on_wecoms_retry(tmp_path: Path, campaign: Campaign) -> None:
    attempts: list[str] = []

    def flaky(store: Store) -> Callable[[str, dt.date, str], None]:
        def record(unit: str, day: dt.date, actor: str) -> None:
            attempts.append(unit)
            if len(attempts) == 1:
                raise RuntimeError("database is locked")
            store.state.record_paper(unit, day, actor)

        return record

    with served_bot(tmp_path, campaign, on_paper=flaky) as (store, sim, server):
        url = server.url + "/wecom/callback"
        xml = sim.text_message(OFFICE, "纸质 延边州 已收", next(_msg_ids))
        first = sim.send_callback(url, xml)
        assert first.status_code == 500  # not answered: WeCom sends the same MsgId again
        retry = sim.send_callback(url, xml)
        assert "已登记" in _content(sim, retry)
        assert len(store.state.paper_receipts(YANBIAN)) == 1
        assert sim.send_callback(url, xml).text == ""  # handled now: a further retry is a duplicate


def test_a_slow_answer_does_not_stall_the_port(tmp_path: Path, campaign: Campaign) -> None:
    entered, release = threading.Event(), threading.Event()

    def slow(store: Store) -> Callable[[str, dt.date, str], None]:
        def record(unit: str, day: dt.date, actor: str) -> None:
            entered.set()
            release.wait(10)  # a long wait for the database's write lock
            store.state.record_paper(unit, day, actor)

        return record

    with served_bot(tmp_path, campaign, on_paper=slow) as (_store, sim, server):
        url = server.url + "/wecom/callback"
        xml = sim.text_message(OFFICE, "纸质 延边州 已收", next(_msg_ids))
        result: dict[str, httpx.Response] = {}
        asker = threading.Thread(
            target=lambda: result.update(r=sim.send_callback(url, xml, retries_on_timeout=0, timeout=15))
        )
        asker.start()
        try:
            assert entered.wait(5)
            started = time.monotonic()
            health = httpx.get(server.url + "/healthz", timeout=3)  # the dashboard shares this port
            assert health.status_code == 200 and time.monotonic() - started < 2
        finally:
            release.set()
            asker.join(15)
        assert "已登记" in _content(sim, result["r"])


def test_the_passive_reply_is_stamped_with_the_desks_clock(tmp_path: Path, campaign: Campaign) -> None:
    now = dt.datetime(2021, 8, 20, 9, 30, tzinfo=dt.UTC)  # 17:30 in Jilin, ten days before the deadline
    with served_bot(tmp_path, campaign, clock=lambda: now) as (_store, sim, server):
        stamp = int(now.timestamp())
        response = sim.send_callback(
            server.url + "/wecom/callback", sim.text_message(CONTACT, "截止", next(_msg_ids)), timestamp=stamp
        )
        assert ET.fromstring(response.text).findtext("TimeStamp") == str(stamp)
        reply = ET.fromstring(sim.decrypt_passive_reply(response.text))
        assert reply.findtext("CreateTime") == str(stamp)
        assert "还剩 10 天" in (reply.findtext("Content") or "")


def _unsigned_params() -> dict[str, str]:
    return {"msg_signature": "0" * 40, "timestamp": str(int(time.time())), "nonce": "1"}


def test_a_body_declared_too_big_is_refused_before_it_is_read(tmp_path: Path, campaign: Campaign) -> None:
    with served_bot(tmp_path, campaign) as (_store, _sim, server):
        url = server.url + "/wecom/callback"
        body = b"<xml><Encrypt>" + b"A" * (2 * ENVELOPE_LIMIT) + b"</Encrypt></xml>"
        response = httpx.post(url, params=_unsigned_params(), content=body, timeout=10)
        assert response.status_code == 413
        assert httpx.get(server.url + "/healthz", timeout=3).status_code == 200


def test_a_streamed_body_is_cut_off_as_soon_as_it_is_too_big(tmp_path: Path, campaign: Campaign) -> None:
    """Chunked, with no Content-Length: the desk stops pulling the body one chunk past the limit."""
    chunk, chunks = 256 * 1024, 256  # 64 MiB offered
    pulled: list[int] = []

    async def body():
        yield b"<xml><Encrypt>"
        for i in range(chunks):
            pulled.append(i)
            yield b"A" * chunk
        yield b"</Encrypt></xml>"

    async def post(app: FastAPI) -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://desk") as client:
            return await client.post("/wecom/callback", params=_unsigned_params(), content=body())

    with bot_app(tmp_path, campaign) as (_store, _sim, app):
        response = asyncio.run(post(app))
    assert response.status_code == 413
    assert len(pulled) <= ENVELOPE_LIMIT // chunk + 1  # not one chunk more than needed to see it is too big


@pytest.mark.parametrize(
    "plaintext",
    [
        "hello world",
        "<xml><FromUserName>dinglijun</From",
        "<xml></xml>",
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">]>'
        "<xml><FromUserName>dinglijun</FromUserName><MsgType>text</MsgType><Content>&a;</Content></xml>",
        "<xml><MsgType>text</MsgType><Content>状态</Content><MsgId>1</MsgId></xml>",  # no sender
        "<xml><FromUserName>dinglijun</FromUserName><MsgType>file</MsgType><MsgId>2</MsgId></xml>",  # no MediaId
        "<xml><FromUserName>dinglijun</FromUserName><MsgType>event</MsgType></xml>",  # no Event
    ],
    ids=["not-xml", "broken-xml", "empty", "dtd", "no-sender", "file-without-media", "event-without-event"],
)
def test_a_signed_envelope_with_malformed_content_is_refused_cleanly(
    tmp_path: Path, campaign: Campaign, plaintext: str, caplog: pytest.LogCaptureFixture
) -> None:
    with served_bot(tmp_path, campaign) as (_store, sim, server):
        url = server.url + "/wecom/callback"
        with caplog.at_level(logging.WARNING, logger="bot.callback"):
            response = sim.send_callback(url, plaintext)
        # WeCom's "received, nothing to reply": its retries would bring the same content again.
        assert (response.status_code, response.text) == (200, "")
        records = [r for r in caplog.records if r.name == "bot.callback"]
        assert len(records) == 1 and "malformed" in records[0].getMessage()
        assert records[0].exc_info is None  # one line in the log, no traceback
        assert "截止时间" in _content(sim, sim.send_callback(url, sim.text_message(CONTACT, "截止", next(_msg_ids))))


def test_an_answer_too_long_for_one_message_says_it_was_shortened() -> None:
    from bot.callback import PASSIVE_LIMIT, _passive_parts

    text = "\n".join(f"✗ 第 {i} 项问题：照片不符合要求" for i in range(200))
    [only] = _passive_parts(text, can_send_more=False)
    assert len(only.encode("utf-8")) <= PASSIVE_LIMIT
    assert only.startswith("✗ 第 0 项问题") and only.endswith("其余部分已省略）")
    assert "".join(_passive_parts(text, can_send_more=True)) == text  # with the active API nothing is lost
