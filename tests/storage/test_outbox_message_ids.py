"""`message_ids_to`: the Message-IDs of the desk's mails to one address in the last day (a reply to
one of them is a conversation, not a forged From). The database narrows the rows to the address
(a LIKE on the JSON list of recipients), on SQLite and PostgreSQL alike, and nothing it must find
is lost to that: an address in other case, among several, or one JSON writes escaped."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event

from storage.repo import Store
from storage.tables import OutboxRecord

T0 = dt.datetime(2021, 8, 20, 9, 0, tzinfo=dt.UTC)
CONTACT = "ybjyj_zcjy@163.com"  # "_" is a LIKE wildcard
UNICODE = "张老师@例子.中国"  # JSON writes it escaped (\\u5f20...)


def _sent(store: Store, n: int, recipients: list[str], *, at: dt.datetime = T0, send: bool = True) -> None:
    row, _ = store.outbox.enqueue(
        f"reply:{n}",
        channel="mail",
        recipients=recipients,
        subject="回执",
        body_text="您好",
        eml=f"Message-ID: <m{n}@nomdesk.example.cn>\r\n\r\nhello".encode(),
        not_before=at,
    )
    if send:
        store.outbox.mark_sent(row.id, at)


@contextmanager
def _rows_loaded() -> Iterator[list[int]]:
    """The outbox rows the ORM builds while inside: what the query fetched from the database."""
    loaded: list[int] = []

    def on_load(target: OutboxRecord, _context: object) -> None:
        loaded.append(target.id or 0)

    event.listen(OutboxRecord, "load", on_load)
    try:
        yield loaded
    finally:
        event.remove(OutboxRecord, "load", on_load)


def test_the_mails_to_one_address_are_found_and_only_they_are_read(store: Store) -> None:
    _sent(store, 1, ["YBJYJ_ZCJY@163.com"])  # the same address, as a contact list wrote it
    _sent(store, 2, ["office@jl.example.cn", CONTACT])
    _sent(store, 3, ["ybjyjxzcjy@163.com"])  # matches "_" as a wildcard: not hers
    _sent(store, 4, [CONTACT + ".evil.example"])  # contains hers: not hers
    _sent(store, 5, [CONTACT], at=T0 - dt.timedelta(days=2))  # too old
    _sent(store, 6, [CONTACT], send=False)  # not sent (yet)
    for n in range(7, 40):
        _sent(store, n, [f"unit{n}@example.cn"])
    _sent(store, 40, [UNICODE])

    since = T0 - dt.timedelta(hours=24)
    with _rows_loaded() as loaded:
        found = store.outbox.message_ids_to(CONTACT, since)
    assert found == {"<m1@nomdesk.example.cn>", "<m2@nomdesk.example.cn>"}
    assert len(loaded) == 2, loaded  # hers only, not every mail of the day nor a look-alike

    assert store.outbox.message_ids_to(UNICODE, since) == {"<m40@nomdesk.example.cn>"}
    assert store.outbox.message_ids_to("nobody@example.cn", since) == set()
