"""A desk process killed while it answers a WeCom message: WeCom's retry, sent to another process
of the same data directory, is answered, and only once."""

from __future__ import annotations

import datetime as dt
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from config import Campaign
from storage.locks import worker_lock
from storage.repo import Store
from tests.bot.test_callback import OFFICE, YANBIAN, _content, _msg_ids, served_bot
from tests.support.dovecot import free_port
from tests.support.service import ROOT, clean_env, wait_until
from tests.support.wecom_sim.server import WeComSimulator

# A desk's WeCom callback whose answer hangs (a paper receipt waiting for ever): it says when it
# started answering, and the test kills it there.
HANGING_DESK = textwrap.dedent(
    """
    import datetime, sys, time
    from pathlib import Path
    from fastapi import FastAPI
    from bot.answers import Answerer
    from bot.callback import WeComBot, create_router
    from bot.crypto import CallbackCrypto
    from config.campaign import load_campaign
    from storage.repo import Store
    from tests.support.wecom_sim.serve import BackgroundServer
    from tests.support.wecom_sim.server import WeComSimulator

    data_dir, port = Path(sys.argv[1]), int(sys.argv[2])
    campaign = load_campaign()
    sim = WeComSimulator()
    store = Store.open(data_dir)
    store.directory.sync_units(campaign)

    def hang(unit, day, actor):
        print("answering", flush=True)
        time.sleep(600)

    def now():
        return datetime.datetime.now(datetime.UTC)

    answerer = Answerer(store, campaign, clock=now, on_paper=hang)
    crypto = CallbackCrypto(sim.token, sim.aes_key, sim.corp_id, max_skew_seconds=300)
    bot = WeComBot(store, crypto, answerer, on_file=None, send_text=None, clock=answerer.clock)
    app = FastAPI()
    app.include_router(create_router(bot))
    BackgroundServer(app, port).start()
    print("ready", flush=True)
    time.sleep(600)
    """
)


def test_a_message_whose_answerer_died_is_answered_once_on_the_retry(tmp_path: Path, campaign: Campaign) -> None:
    sim = WeComSimulator()
    port = free_port()
    desk = subprocess.Popen(
        [sys.executable, "-c", HANGING_DESK, str(tmp_path), str(port)],
        cwd=ROOT,
        env=clean_env(),
        stdout=subprocess.PIPE,
        text=True,
    )
    assert desk.stdout is not None
    try:
        assert desk.stdout.readline().strip() == "ready"
        xml = sim.text_message(OFFICE, "纸质 延边州 已收", next(_msg_ids))
        first: dict[str, object] = {}

        def deliver() -> None:
            try:
                first["r"] = sim.send_callback(f"http://127.0.0.1:{port}/wecom/callback", xml, retries_on_timeout=0)
            except httpx.HTTPError as exc:
                first["r"] = exc

        sender = threading.Thread(target=deliver)
        sender.start()
        assert desk.stdout.readline().strip() == "answering"
        desk.send_signal(signal.SIGKILL)  # dies after marking the message seen, before answering
        desk.wait(10)
        sender.join(10)
        assert isinstance(first["r"], httpx.HTTPError)  # WeCom got no answer: it retries
    finally:
        if desk.poll() is None:
            desk.kill()
            desk.wait(10)

    def record(store: Store) -> Callable[[str, dt.date, str], None]:
        return lambda unit, day, actor: store.state.record_paper(unit, day, actor)

    with served_bot(tmp_path, campaign, on_paper=record) as (store, _sim, server):
        url = server.url + "/wecom/callback"
        started = time.monotonic()
        retry = sim.send_callback(url, xml)
        assert "已登记" in _content(sim, retry)
        assert time.monotonic() - started < 5  # its answerer is known dead: no waiting for its lease
        assert len(store.state.paper_receipts(YANBIAN)) == 1
        again = sim.send_callback(url, xml)  # WeCom's next retry (its answer was lost, say): a duplicate
        assert again.status_code == 200 and again.text == ""
        wait_until(lambda: len(store.state.paper_receipts(YANBIAN)) == 1, 1)


def test_a_mark_left_by_a_process_on_another_host_is_taken_over_only_once_it_is_dead(
    tmp_path: Path, campaign: Campaign
) -> None:
    """Another host's pid cannot be looked up: its process is alive while it holds its liveness lock."""
    elsewhere = "desk-2.example.cn:4242:beef0001"
    with served_bot(tmp_path, campaign, on_paper=_recording) as (store, sim, server):
        url = server.url + "/wecom/callback"
        msg_id = next(_msg_ids)
        xml = sim.text_message(OFFICE, "纸质 延边州 已收", msg_id)
        now = dt.datetime.now(dt.UTC)
        store.state.kv_set(f"wecom:seen:msg:{msg_id}", elsewhere, now + dt.timedelta(days=1))  # it took the message
        with Store.open(tmp_path) as other_host:
            alive = other_host.locks.try_acquire(worker_lock(elsewhere))
            assert alive is not None
            assert sim.send_callback(url, xml).text == ""  # it is alive: answering it, or answered
            alive.release()  # it dies
        assert "已登记" in _content(sim, sim.send_callback(url, xml))
        assert sim.send_callback(url, xml).text == ""
        assert len(store.state.paper_receipts(YANBIAN)) == 1


def _recording(store: Store) -> Callable[[str, dt.date, str], None]:
    return lambda unit, day, actor: store.state.record_paper(unit, day, actor)
