from __future__ import annotations

from storage.repo import Store

YANBIAN = "延边朝鲜族自治州教育局"


def test_units_and_contacts_come_from_the_config(store: Store, campaign) -> None:
    store.directory.sync_units(campaign)

    assert [u.name for u in store.directory.units()] == [u.name for u in campaign.units]
    yb = next(u for u in store.directory.units() if u.name == YANBIAN)
    assert yb.kind == "city" and "延边州" in yb.aliases
    assert store.directory.unit_of_address("伍凤霞 <YBJYJ_ZCJY@163.com>") == YANBIAN
    assert store.directory.unit_of_wecom_user("wufengxia") == YANBIAN
    assert store.directory.unit_of_address("stranger@qq.com") is None
    assert store.directory.is_office(address="jlqmxx@126.com")
    assert store.directory.is_office(wecom_user="wuxiaohui")
    assert not store.directory.is_office(address="ybjyj_zcjy@163.com")
    (contact,) = store.contacts.list(YANBIAN)
    assert contact.name == "伍凤霞" and contact.emails == ["ybjyj_zcjy@163.com"] and contact.from_config


def test_contacts_added_by_the_office_survive_a_resync(store: Store, campaign) -> None:
    store.directory.sync_units(campaign)
    added = store.contacts.add(YANBIAN, "金老师", emails=["Jin@YB.edu.cn"], wecom_user="jin", actor="office:wuxiaohui")
    assert added.emails == ["jin@yb.edu.cn"] and not added.from_config

    store.directory.sync_units(campaign)  # the service restarts

    assert {c.name for c in store.contacts.list(YANBIAN)} == {"伍凤霞", "金老师"}
    assert store.directory.unit_of_address("jin@yb.edu.cn") == YANBIAN
    assert len(store.contacts.list()) == len(campaign.office.members) + sum(len(u.contacts) for u in campaign.units) + 1


def test_a_unit_removed_from_the_config_becomes_inactive(store: Store, campaign) -> None:
    store.directory.sync_units(campaign)
    smaller = campaign.model_copy(update={"units": [u for u in campaign.units if u.name != YANBIAN]})
    store.directory.sync_units(smaller)
    assert YANBIAN not in {u.name for u in store.directory.units()}
    assert YANBIAN in {u.name for u in store.directory.units(active_only=False)}
    assert store.directory.unit_of_address("ybjyj_zcjy@163.com") is None
