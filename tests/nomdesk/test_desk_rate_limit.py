"""The per-sender reply limit holds replies back; it never drops the one that tells where a unit stands."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from config.campaign import Campaign
from config.settings import Settings
from nomdesk.desk import Desk
from notify.outbox import OutboxWorker
from storage.repo import Store
from storage.tables import OutboxState
from tests.support.clock import Clock
from tests.support.service import mail, parse

SENDER = "ybjyj_zcjy@163.com"  # a registered contact of 延边州


def test_replies_over_the_limit_wait_and_only_the_newest_goes(tmp_path: Path, campaign: Campaign) -> None:
    data = tmp_path / "var"
    clock = Clock(dt.datetime(2021, 8, 21, 6, 0, tzinfo=dt.UTC))
    store = Store.open(data)
    try:
        store.directory.sync_units(campaign)
        desk = Desk(Settings(data_dir=data, reply_rate_per_hour=2), campaign, store, clock=clock)
        worker = OutboxWorker(store, smtp=None, outbox_dir=data / "outbox", clock=clock)

        def send_mail(n: int) -> None:
            path = tmp_path / f"{n}.eml"
            path.write_bytes(mail(SENDER, subject=f"延边州推荐材料（第{n}封）", message_id=f"<m{n}@163.com>"))
            desk.ingest_file(path, received_at=clock())
            desk.process_pending()
            worker.run_once()
            clock.now += dt.timedelta(minutes=5)

        for n in range(1, 5):  # four mails within 20 minutes, limit 2 an hour
            send_mail(n)
        sent = sorted((data / "outbox").glob("*.eml"))
        assert [parse(p.read_bytes())["In-Reply-To"] for p in sent] == ["<m1@163.com>", "<m2@163.com>"]
        rows = {r.dedupe_key: r for r in store.outbox.all()}
        third, fourth = rows["reply:3"], rows["reply:4"]
        # The third reply was held back, then made obsolete by the fourth: it never goes.
        assert third.state == OutboxState.SUPPRESSED and "superseded" in (third.last_error or "")
        assert fourth.state == OutboxState.PENDING
        # The superseded third does not count against the limit: the fourth takes its slot.
        assert fourth.next_attempt_at == dt.datetime(2021, 8, 21, 7, 0, tzinfo=dt.UTC)  # first reply + 1 h

        clock.now = dt.datetime(2021, 8, 21, 7, 0, tzinfo=dt.UTC)
        worker.run_once()
        sent = sorted((data / "outbox").glob("*.eml"))
        assert [parse(p.read_bytes())["In-Reply-To"] for p in sent][-1] == "<m4@163.com>"
        assert len(sent) == 3
    finally:
        store.close()


def test_the_held_reply_goes_when_the_hour_has_room_and_lists_every_mail_since_the_last(
    tmp_path: Path, campaign: Campaign
) -> None:
    """A unit's seven mails in twelve minutes, the default limit of 5 an hour: the sixth reply waits
    for the first one's hour, the seventh supersedes it and takes that same slot (the held one is
    not counted against the limit), and it lists both mails since the fifth reply, by reference."""
    data = tmp_path / "var"
    clock = Clock(dt.datetime(2021, 8, 21, 6, 0, tzinfo=dt.UTC))
    store = Store.open(data)
    try:
        store.directory.sync_units(campaign)
        desk = Desk(Settings(data_dir=data), campaign, store, clock=clock)
        worker = OutboxWorker(store, smtp=None, outbox_dir=data / "outbox", clock=clock)
        for n in range(1, 8):
            path = tmp_path / f"{n}.eml"
            path.write_bytes(mail(SENDER, subject=f"延边州推荐材料（第{n}封）", message_id=f"<m{n}@163.com>"))
            desk.ingest_file(path, received_at=clock())
            desk.process_pending()
            worker.run_once()
            clock.now += dt.timedelta(minutes=2)
        rows = {r.dedupe_key: r for r in store.outbox.all()}
        assert rows["reply:6"].state == OutboxState.SUPPRESSED
        assert rows["reply:7"].next_attempt_at == dt.datetime(2021, 8, 21, 7, 0, tzinfo=dt.UTC)

        clock.now = dt.datetime(2021, 8, 21, 7, 0, tzinfo=dt.UTC)
        worker.run_once()
        sent = [parse(p.read_bytes()) for p in sorted((data / "outbox").glob("*.eml"))]
        assert len(sent) == 6 and sent[-1]["In-Reply-To"] == "<m7@163.com>"
        assert "（延边-06、延边-07）" in str(sent[-1]["Subject"])
        text = sent[-1].get_body(("plain",)).get_content()
        assert "自上次回复以来共收到 2 次报送（延边-06、延边-07）" in text
        assert "受理编号：延边-05" not in text
    finally:
        store.close()
