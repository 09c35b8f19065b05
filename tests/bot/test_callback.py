"""The callback route itself: a failed answer is retried, a slow one does not stall the port.

A bot over a real store and the shipped campaign, served by uvicorn on loopback; the
simulator encrypts the callbacks as WeCom does. The answerer's paper-receipt hook is the
one seam: it fails or blocks on purpose, as a busy database would.
"""

from __future__ import annotations

import datetime as dt
import itertools
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from fastapi import FastAPI

from bot.answers import Answerer
from bot.callback import WeComBot, create_router
from bot.crypto import CallbackCrypto
from config import Campaign
from storage.repo import Store
from tests.support.wecom_sim.serve import BackgroundServer
from tests.support.wecom_sim.server import WeComSimulator

OFFICE = "wuxiaohui"
CONTACT = "dinglijun"
YANBIAN = "延边朝鲜族自治州教育局"
_msg_ids = itertools.count(int(time.time()) * 1000)


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@contextmanager
def served_bot(
    tmp_path: Path,
    campaign: Campaign,
    *,
    on_paper: Callable[[Store], Callable[[str, dt.date, str], None]] | None = None,
    clock: Callable[[], dt.datetime] = _utcnow,
) -> Iterator[tuple[Store, WeComSimulator, BackgroundServer]]:
    sim = WeComSimulator()  # only its callback side: no API server needed
    store = Store.open(tmp_path)
    store.sync_units(campaign)
    crypto = CallbackCrypto(sim.token, sim.aes_key, sim.corp_id, max_skew_seconds=300)
    answerer = Answerer(store, campaign, clock=clock, on_paper=on_paper(store) if on_paper else None)
    bot = WeComBot(store, crypto, answerer, on_file=None, send_text=None, clock=clock)
    app = FastAPI()
    app.include_router(create_router(bot))

    @app.get("/healthz")
    def healthz() -> dict[str, bool]:
        return {"ok": True}

    try:
        with BackgroundServer(app) as server:
            yield store, sim, server
    finally:
        bot.close()
        store.close()


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
            store.record_paper(unit, day, actor)

        return record

    with served_bot(tmp_path, campaign, on_paper=flaky) as (store, sim, server):
        url = server.url + "/wecom/callback"
        xml = sim.text_message(OFFICE, "纸质 延边州 已收", next(_msg_ids))
        first = sim.send_callback(url, xml)
        assert first.status_code == 500  # not answered: WeCom sends the same MsgId again
        retry = sim.send_callback(url, xml)
        assert "已登记" in _content(sim, retry)
        assert len(store.paper_receipts(YANBIAN)) == 1
        assert sim.send_callback(url, xml).text == ""  # handled now: a further retry is a duplicate


def test_a_slow_answer_does_not_stall_the_port(tmp_path: Path, campaign: Campaign) -> None:
    entered, release = threading.Event(), threading.Event()

    def slow(store: Store) -> Callable[[str, dt.date, str], None]:
        def record(unit: str, day: dt.date, actor: str) -> None:
            entered.set()
            release.wait(10)  # a long wait for the database's write lock
            store.record_paper(unit, day, actor)

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
