from __future__ import annotations

import datetime as dt
import threading

from storage.repo import Store
from storage.tables import OutboxState

T0 = dt.datetime(2021, 8, 20, 9, 0, tzinfo=dt.UTC)


def enqueue(store: Store, key: str = "reply:1", **kwargs):
    defaults = dict(
        channel="mail",
        recipients=["ybjyj_zcjy@163.com"],
        subject="回复：延边州推荐材料",
        body_text="您好，材料已收到。",
        not_before=T0,
    )
    return store.outbox.enqueue(key, **{**defaults, **kwargs})


def test_enqueue_is_idempotent_on_the_dedupe_key(store: Store) -> None:
    row, created = enqueue(store, eml=b"Message-ID: <r1@desk>\r\n\r\nhello")
    again, created_again = enqueue(store, body_text="第二次生成的回复")

    assert created and not created_again
    assert again.id == row.id
    assert again.body_text == "您好，材料已收到。"  # the first reply stands
    assert store.outbox.eml(again) == b"Message-ID: <r1@desk>\r\n\r\nhello"
    assert len(store.outbox.all()) == 1
    assert store.outbox.by_key("reply:1").id == row.id


def test_claim_takes_only_due_messages_once(store: Store) -> None:
    now_row, _ = enqueue(store, "reply:1")
    later_row, _ = enqueue(store, "reply:2", not_before=T0 + dt.timedelta(hours=1))

    claimed = store.outbox.claim(T0)
    assert [r.id for r in claimed] == [now_row.id]
    assert claimed[0].state == OutboxState.SENDING and claimed[0].attempts == 1
    assert store.outbox.claim(T0) == []  # not handed out twice, and the later one not yet
    assert [r.id for r in store.outbox.claim(T0 + dt.timedelta(hours=2))] == [later_row.id]


def test_sent_failed_retry_and_suppressed(store: Store) -> None:
    row, _ = enqueue(store)
    store.outbox.claim(T0)
    retry_at = T0 + dt.timedelta(minutes=5)
    failed = store.outbox.mark_failed(row.id, "SMTP 451 联系电话 13812345678", retry_at)
    assert failed.state == OutboxState.PENDING and failed.next_attempt_at == retry_at
    assert "13812345678" not in failed.last_error
    assert store.outbox.claim(T0) == []

    claimed = store.outbox.claim(retry_at)
    assert claimed[0].attempts == 2
    sent = store.outbox.mark_sent(row.id, now=retry_at)
    assert sent.state == OutboxState.SENT and sent.sent_at == retry_at
    assert store.outbox.claim(T0 + dt.timedelta(days=1)) == []

    other, _ = enqueue(store, "reply:2")
    assert store.outbox.mark_failed(other.id, "550 no such user").state == OutboxState.FAILED
    third, _ = enqueue(store, "reply:3")
    assert store.outbox.suppress(third.id, "办公室已电话联系").state == OutboxState.SUPPRESSED
    assert store.outbox.claim(T0 + dt.timedelta(days=1)) == []
    actions = [a.action for a in store.audit.entries()]
    assert {"outbox.enqueued", "outbox.retry", "outbox.sent", "outbox.failed", "outbox.suppressed"} <= set(actions)


def test_a_crashed_sender_s_message_goes_back_to_pending(store: Store) -> None:
    row, _ = enqueue(store)
    [claimed] = store.outbox.claim(T0)
    assert store.leases.take_back_expired(claimed.lease_until - dt.timedelta(seconds=1)) == 0  # still leased
    assert store.leases.take_back_expired(claimed.lease_until + dt.timedelta(seconds=1)) == 1
    assert store.outbox.get(row.id).state == OutboxState.PENDING
    assert [r.id for r in store.outbox.claim(T0 + dt.timedelta(minutes=12))] == [row.id]


def test_concurrent_enqueue_and_claim_send_each_reply_once(store: Store) -> None:
    results: list[tuple[int, bool]] = []
    claimed: list[int] = []
    lock = threading.Lock()

    def producer() -> None:
        for i in range(10):
            row, created = enqueue(store, f"reply:{i}")
            with lock:
                results.append((row.id, created))

    threads = [threading.Thread(target=producer) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    def sender() -> None:
        while rows := store.outbox.claim(T0 + dt.timedelta(seconds=1), limit=2):
            with lock:
                claimed.extend(r.id for r in rows)

    threads = [threading.Thread(target=sender) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sum(created for _, created in results) == 10
    assert len({row_id for row_id, _ in results}) == 10
    assert sorted(claimed) == sorted({row_id for row_id, _ in results})
