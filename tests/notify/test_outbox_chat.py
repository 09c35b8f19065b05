"""Chat messages through the outbox, against the WeCom simulator: retried when WeCom is unlucky,
given up (and kept with the reason) when the request itself is wrong."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.wecom_client import WebhookRobot
from notify.outbox import OutboxWorker
from storage.repo import Store
from storage.tables import OutboxState
from tests.support.wecom_sim.server import WeComSimulator


@pytest.fixture
def sim() -> Iterator[WeComSimulator]:
    with WeComSimulator() as simulator:
        yield simulator


def test_a_wrong_robot_key_is_not_retried_a_right_one_is_sent(sim: WeComSimulator, tmp_path: Path) -> None:
    now = dt.datetime(2021, 8, 28, 0, 0, tzinfo=dt.UTC)
    with Store.open(tmp_path / "var") as store:
        channels = {
            "webhook": lambda _to, text: WebhookRobot(sim.webhook_key, sim.base_url).send_markdown(text),
            "bad-webhook": lambda _to, text: WebhookRobot("not-the-key", sim.base_url).send_markdown(text),
        }
        worker = OutboxWorker(store, smtp=None, outbox_dir=tmp_path / "outbox", clock=lambda: now, channels=channels)
        good, _ = store.outbox.enqueue(
            "digest:ok", channel="webhook", recipients=[], body_text="**今日汇总**", not_before=now
        )
        bad, _ = store.outbox.enqueue("digest:bad", channel="bad-webhook", recipients=[], body_text="x", not_before=now)
        worker.run_once()
        assert store.outbox.get(good.id).state == OutboxState.SENT
        failed = store.outbox.get(bad.id)
        assert failed.state == OutboxState.FAILED and "93000" in (failed.last_error or "")
        assert [m.content for m in sim.webhook_messages] == ["**今日汇总**"]
