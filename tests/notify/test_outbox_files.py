"""The outbox folder (no SMTP server): only whole replies in it, whatever a kill left behind."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from notify.mail import build_reply
from notify.outbox import PARTIAL_PREFIX, OutboxWorker
from storage.repo import Store
from storage.tables import OutboxState


def test_a_reply_cut_by_a_kill_is_written_whole_once_and_its_debris_swept(tmp_path: Path) -> None:
    outbox = tmp_path / "outbox"
    outbox.mkdir()
    with Store.open(tmp_path / "var") as store:
        msg = build_reply(
            from_addr="jlqmxx@126.com",
            to=["ybjyj_zcjy@163.com"],
            subject="推荐材料已收到",
            text="正文",
            html=None,
            in_reply_to="<a@163.com>",
            references=["<a@163.com>"],
            message_id_domain="nomdesk.126.com",
        )
        row, _ = store.outbox.enqueue(
            "reply:1", channel="mail", recipients=["ybjyj_zcjy@163.com"], body_text="正文", eml=msg.as_bytes()
        )
        now = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)  # the row is due from its enqueue time
        # What a SIGKILL in the middle of writing it left: half a file, the row still "sending".
        (outbox / f"{PARTIAL_PREFIX}abc123.part").write_bytes(msg.as_bytes()[:100])
        [claimed] = store.outbox.claim(now, 10, channels=["mail"])
        restart = now + dt.timedelta(seconds=1)
        store.leases.take_back_expired(claimed.lease_until + dt.timedelta(seconds=1))  # the lease ran out

        worker = OutboxWorker(store, smtp=None, outbox_dir=outbox, clock=lambda: restart)
        assert worker.run_once() == 1
        assert sorted(p.name for p in outbox.iterdir()) == [f"{row.id:06d}.eml"]  # one reply, whole
        assert (outbox / f"{row.id:06d}.eml").read_bytes() == msg.as_bytes()
        assert store.outbox.get(row.id).state == OutboxState.SENT
