from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

from storage.repo import Store

YANBIAN = "延边朝鲜族自治州教育局"


def test_units_and_contacts_come_from_the_config(store: Store, campaign) -> None:
    store.sync_units(campaign)

    assert [u.name for u in store.units()] == [u.name for u in campaign.units]
    yb = next(u for u in store.units() if u.name == YANBIAN)
    assert yb.kind == "city" and "延边州" in yb.aliases
    assert store.unit_of_address("伍凤霞 <YBJYJ_ZCJY@163.com>") == YANBIAN
    assert store.unit_of_wecom_user("wufengxia") == YANBIAN
    assert store.unit_of_address("stranger@qq.com") is None
    assert store.is_office(address="jlqmxx@126.com")
    assert store.is_office(wecom_user="wuxiaohui")
    assert not store.is_office(address="ybjyj_zcjy@163.com")
    (contact,) = store.contacts(YANBIAN)
    assert contact.name == "伍凤霞" and contact.emails == ["ybjyj_zcjy@163.com"] and contact.from_config


def test_contacts_added_by_the_office_survive_a_resync(store: Store, campaign) -> None:
    store.sync_units(campaign)
    added = store.add_contact(YANBIAN, "金老师", emails=["Jin@YB.edu.cn"], wecom_user="jin", actor="office:wuxiaohui")
    assert added.emails == ["jin@yb.edu.cn"] and not added.from_config

    store.sync_units(campaign)  # the service restarts

    assert {c.name for c in store.contacts(YANBIAN)} == {"伍凤霞", "金老师"}
    assert store.unit_of_address("jin@yb.edu.cn") == YANBIAN
    assert len(store.contacts()) == len(campaign.office.members) + sum(len(u.contacts) for u in campaign.units) + 1


def test_a_unit_removed_from_the_config_becomes_inactive(store: Store, campaign) -> None:
    store.sync_units(campaign)
    smaller = campaign.model_copy(update={"units": [u for u in campaign.units if u.name != YANBIAN]})
    store.sync_units(smaller)
    assert YANBIAN not in {u.name for u in store.units()}
    assert YANBIAN in {u.name for u in store.units(active_only=False)}
    assert store.unit_of_address("ybjyj_zcjy@163.com") is None


def test_mailbox_state_round_trip(store: Store) -> None:
    key = "imap:mail.example.com:desk:INBOX"
    assert store.get_mailbox_state(key) is None
    store.set_mailbox_state(key, 4_000_000_000, 12)
    store.set_mailbox_state(key, 4_000_000_000, 15)
    state = store.get_mailbox_state(key)
    assert (state.uidvalidity, state.last_uid) == (4_000_000_000, 15)


def test_key_values_expire(store: Store) -> None:
    now = dt.datetime.now(dt.UTC)
    store.kv_set("wecom:token", "abc", expires_at=now + dt.timedelta(hours=2))
    assert store.kv_get("wecom:token") == "abc"
    assert store.kv_get("wecom:token", now=now + dt.timedelta(hours=3)) is None
    store.kv_set("wecom:token", "def")
    assert store.kv_get("wecom:token", now=now + dt.timedelta(days=3)) == "def"
    store.kv_delete("wecom:token")
    assert store.kv_get("wecom:token") is None


def test_a_reminder_is_marked_once_across_stores(store: Store, data_dir: Path, database_url: str | None) -> None:
    # A second Store on the same database stands in for a second process.
    with Store.open(data_dir, database_url) as other:
        results: list[bool] = []
        lock = threading.Lock()

        def mark(s: Store) -> None:
            ok = s.try_mark_reminder(YANBIAN, "deadline-3d:2021-08-27", "mail")
            with lock:
                results.append(ok)

        threads = [threading.Thread(target=mark, args=(s,)) for s in (store, other) * 4]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    assert sorted(results) == [False] * 7 + [True]
    assert store.try_mark_reminder(YANBIAN, "deadline-3d:2021-08-27", "wecom")
    assert store.try_mark_reminder(YANBIAN, "deadline-1d:2021-08-29", "mail")
    assert len(store.reminders_sent(YANBIAN)) == 3


def test_paper_receipts(store: Store) -> None:
    assert not store.paper_received(YANBIAN)
    store.record_paper(YANBIAN, dt.date(2021, 8, 28), "office:wuxiaohui", note="快递")
    assert store.paper_received(YANBIAN)
    assert store.paper_receipts(YANBIAN)[0].received_on == dt.date(2021, 8, 28)
    assert store.audit_log(unit_name=YANBIAN)[0].action == "paper.received"


def test_the_audit_log_masks_phone_and_id_numbers(store: Store) -> None:
    store.audit(
        "bot:wufengxia",
        "status.asked",
        YANBIAN,
        text="我的电话 13812345678，身份证 22240119800101123X",
        phone="0433-2513420",
        nominee={"name": "金哲洙", "id_number": "222401198001011234"},
        when=dt.date(2021, 8, 20),
    )
    (entry,) = store.audit_log(action="status.asked")
    dumped = entry.model_dump_json()
    for secret in ("13812345678", "22240119800101123X", "2513420", "222401198001011234"):
        assert secret not in dumped
    assert entry.detail["text"] == "我的电话 138****5678，身份证 2224**********123X"
    assert entry.detail["nominee"]["name"] == "金哲洙"
    assert entry.detail["when"] == "2021-08-20"
    assert entry.actor == "bot:wufengxia" and entry.unit_name == YANBIAN
