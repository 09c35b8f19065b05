from __future__ import annotations

import base64
import datetime as dt
import hashlib
from email.message import EmailMessage
from pathlib import Path

from storage.repo import Store
from storage.tables import RawState
from tests.storage.threads import claim_in_threads

T0 = dt.datetime(2021, 8, 20, 9, 0, tzinfo=dt.UTC)


def make_mail(subject: str = "延边州推荐材料", message_id: str = "<a1@example.com>", body: str = "见附件") -> bytes:
    msg = EmailMessage()
    msg["From"] = "伍凤霞 <YBJYJ_zcjy@163.com>"
    msg["To"] = "jlqmxx@126.com"
    msg["Subject"] = subject
    msg["Message-ID"] = message_id
    msg.set_content(body)
    return msg.as_bytes()


def test_raw_bytes_are_stored_exactly_with_headers_read(store: Store) -> None:
    data = make_mail()
    row, created = store.raw.put(data, source="maildir", source_ref="new/1.eml", received_at=T0)

    assert created
    assert store.raw.path(row).read_bytes() == data
    assert row.sha256 == hashlib.sha256(data).hexdigest()
    assert row.size == len(data)
    assert row.message_id == "<a1@example.com>"
    assert row.sender == "ybjyj_zcjy@163.com"
    assert row.subject == "延边州推荐材料"
    assert row.state == RawState.NEW
    assert store.raw.get(row.id).received_at == T0


def test_same_bytes_twice_is_one_message(store: Store, tmp_path: Path) -> None:
    data = make_mail()
    first, _ = store.raw.put(data, source="imap", source_ref="imap:INBOX:1:7", received_at=T0)
    path = tmp_path / "again.eml"
    path.write_bytes(data)
    second, created = store.raw.put(path, source="maildir", received_at=T0)

    assert not created
    assert second.id == first.id
    assert len(store.raw.all()) == 1


def test_message_id_dedupe_keeps_the_bytes_but_not_a_second_job(store: Store) -> None:
    original, _ = store.raw.put(make_mail(body="第一次"), source="imap", received_at=T0)
    # The same message fetched again with an extra header (other bytes, same Message-ID).
    again = b"X-Rescanned: yes\r\n" + make_mail(body="第一次")
    row, created = store.raw.put(again, source="imap", received_at=T0, dedupe_message_id=True)

    assert not created
    assert row.id == original.id
    rows = [r for r in store.raw.all() if r.message_id == "<a1@example.com>"]
    assert [r.state for r in rows] == [RawState.NEW, RawState.IGNORED]
    assert rows[1].duplicate_of == original.id
    assert store.raw.path(rows[1]).read_bytes() == again
    # Without the flag a resend with the same Message-ID is a message of its own.
    third, created = store.raw.put(make_mail(body="第二次"), source="imap", received_at=T0)
    assert created and third.id != original.id


def test_another_body_under_a_known_message_id_is_a_mail_of_its_own(store: Store) -> None:
    """A mailer reusing a Message-ID for a supplement must not make the supplement vanish."""
    original, _ = store.raw.put(make_mail(body="第一次"), source="imap", received_at=T0)
    supplement, created = store.raw.put(
        make_mail(body="补充材料"), source="imap", received_at=T0, dedupe_message_id=True
    )
    assert created and supplement.id != original.id and supplement.state == RawState.NEW


def test_a_raw_8bit_gbk_subject_is_read_as_gbk(store: Store) -> None:
    head = (
        "From: 伍凤霞 <ybjyj@163.com>\r\nSubject: 延边州推荐材料（补充）\r\n\tsecond line\r\nMessage-ID: <g@x>\r\n\r\n"
    )
    row, _ = store.raw.put(head.encode("gbk") + "正文".encode("gbk"), source="imap", received_at=T0)
    assert row.subject == "延边州推荐材料（补充）\tsecond line"
    assert row.sender == "ybjyj@163.com"


def test_unparseable_bytes_are_still_stored(store: Store) -> None:
    junk = b"\xff\xfe\x00 not a mail at all \x00" * 10
    row, created = store.raw.put(junk, source="cli", received_at=T0)
    assert created
    assert store.raw.path(row).read_bytes() == junk


def test_gbk_subject_labelled_gb2312_is_decoded(store: Store) -> None:
    # 喆 is GBK only: senders still label such subjects gb2312.
    encoded = base64.b64encode("延边州推荐金喆".encode("gbk")).decode()
    data = f"From: a@b.cn\r\nSubject: =?gb2312?B?{encoded}?=\r\nMessage-ID: <g@b.cn>\r\n\r\nbody\r\n".encode()
    row, _ = store.raw.put(data, source="cli", received_at=T0)
    assert row.subject == "延边州推荐金喆"


def test_claim_takes_the_oldest_new_message_once(store: Store) -> None:
    late, _ = store.raw.put(make_mail("b", "<b@x>"), source="cli", received_at=T0 + dt.timedelta(hours=1))
    early, _ = store.raw.put(make_mail("a", "<a@x>"), source="cli", received_at=T0)

    first = store.raw.claim_next()
    second = store.raw.claim_next()

    assert (first.id, second.id) == (early.id, late.id)
    assert first.state == RawState.PROCESSING and first.attempts == 1
    assert store.raw.claim_next() is None


def test_two_threads_never_claim_the_same_message(store: Store) -> None:
    ids = {store.raw.put(make_mail(f"m{i}", f"<m{i}@x>"), source="cli", received_at=T0)[0].id for i in range(30)}
    claimed = [row.id for row in claim_in_threads(store.raw.claim_next, most=len(ids))]
    assert sorted(claimed) == sorted(ids)  # every message once, none twice


def test_a_crashed_worker_s_message_is_taken_back_after_its_lease_then_quarantined(store: Store) -> None:
    row, _ = store.raw.put(make_mail(), source="cli", received_at=T0)
    claimed = store.raw.claim_next(now=T0)
    assert claimed.id == row.id

    # Its lease (real time) still runs: nothing moves. Once it has run out, the message goes back.
    assert store.leases.take_back_expired(claimed.lease_until - dt.timedelta(seconds=1)) == 0
    assert store.leases.take_back_expired(claimed.lease_until + dt.timedelta(seconds=1)) == 1
    assert store.raw.get(row.id).state == RawState.NEW

    again = store.raw.claim_next(now=T0 + dt.timedelta(minutes=12))
    assert again.id == row.id and again.attempts == 2
    store.leases.take_back_expired(again.lease_until + dt.timedelta(seconds=1), max_attempts=2)
    quarantined = store.raw.get(row.id)
    assert quarantined.state == RawState.QUARANTINED
    assert "2" in quarantined.last_error
    assert store.raw.claim_next() is None


def test_mark_and_quarantine(store: Store) -> None:
    row, _ = store.raw.put(make_mail(), source="cli", received_at=T0)
    store.raw.claim_next()
    retried = store.raw.mark(row.id, RawState.NEW, "解析失败 13812345678")
    assert retried.state == RawState.NEW
    assert "13812345678" not in retried.last_error

    store.raw.claim_next()
    done = store.raw.mark(row.id, RawState.DONE)
    assert done.state == RawState.DONE and done.last_error is None
    assert store.raw.all(state=RawState.DONE)[0].id == row.id

    q = store.raw.quarantine(row.id, "压缩包损坏")
    assert q.state == RawState.QUARANTINED
    assert store.audit.entries(action="raw.quarantined")[0].detail["raw_id"] == row.id
