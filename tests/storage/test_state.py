from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

from storage.repo import Store

YANBIAN = "延边朝鲜族自治州教育局"


def test_mailbox_state_round_trip(store: Store) -> None:
    key = "imap:mail.example.com:desk:INBOX"
    assert store.state.get_mailbox(key) is None
    store.state.set_mailbox(key, 4_000_000_000, 12)
    store.state.set_mailbox(key, 4_000_000_000, 15)
    state = store.state.get_mailbox(key)
    assert (state.uidvalidity, state.last_uid) == (4_000_000_000, 15)


def test_key_values_expire(store: Store) -> None:
    now = dt.datetime.now(dt.UTC)
    store.state.kv_set("wecom:token", "abc", expires_at=now + dt.timedelta(hours=2))
    assert store.state.kv_get("wecom:token") == "abc"
    assert store.state.kv_get("wecom:token", now=now + dt.timedelta(hours=3)) is None
    store.state.kv_set("wecom:token", "def")
    assert store.state.kv_get("wecom:token", now=now + dt.timedelta(days=3)) == "def"
    store.state.kv_delete("wecom:token")
    assert store.state.kv_get("wecom:token") is None


def test_a_reminder_is_marked_once_across_stores(store: Store, data_dir: Path, database_url: str | None) -> None:
    # A second Store on the same database stands in for a second process.
    with Store.open(data_dir, database_url) as other:
        results: list[bool] = []
        lock = threading.Lock()

        def mark(s: Store) -> None:
            ok = s.state.try_mark_reminder(YANBIAN, "deadline-3d:2021-08-27", "mail")
            with lock:
                results.append(ok)

        threads = [threading.Thread(target=mark, args=(s,)) for s in (store, other) * 4]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    assert sorted(results) == [False] * 7 + [True]
    assert store.state.try_mark_reminder(YANBIAN, "deadline-3d:2021-08-27", "wecom")
    assert store.state.try_mark_reminder(YANBIAN, "deadline-1d:2021-08-29", "mail")
    assert len(store.state.reminders_sent(YANBIAN)) == 3


def test_paper_receipts(store: Store) -> None:
    assert not store.state.paper_received(YANBIAN)
    store.state.record_paper(YANBIAN, dt.date(2021, 8, 28), "office:wuxiaohui", note="快递")
    assert store.state.paper_received(YANBIAN)
    assert store.state.paper_receipts(YANBIAN)[0].received_on == dt.date(2021, 8, 28)
    assert store.audit.entries(unit_name=YANBIAN)[0].action == "paper.received"


def test_a_recheck_asked_during_a_check_is_not_lost(store: Store) -> None:
    store.state.request_recheck(YANBIAN)
    [(unit, token)] = store.state.rechecks()
    assert unit == YANBIAN
    store.state.request_recheck(YANBIAN)  # asked again while the pipeline checks for `token`
    store.state.recheck_done(YANBIAN, token)
    assert [u for u, _ in store.state.rechecks()] == [YANBIAN]  # the later request stays
    [(_, later)] = store.state.rechecks()
    store.state.recheck_done(YANBIAN, later)
    assert store.state.rechecks() == []


def test_office_notes_are_kept_per_unit_and_audited(store: Store) -> None:
    store.state.add_note(YANBIAN, "电话确认：纸质材料周五寄出", author="office:wu")
    store.state.add_note(YANBIAN, "证件照待重拍", author="office:li", nominee="金哲洙")
    store.state.add_note("吉林大学", "另一单位", author="office:wu")

    notes = store.state.notes(YANBIAN)

    assert [(n.text, n.nominee, n.author) for n in notes] == [
        ("电话确认：纸质材料周五寄出", None, "office:wu"),
        ("证件照待重拍", "金哲洙", "office:li"),
    ]
    assert len(store.audit.entries(action="note.added")) == 3
    try:
        store.state.add_note(YANBIAN, "  ", author="office:wu")
    except ValueError:
        pass
    else:
        raise AssertionError("an empty note was kept")
