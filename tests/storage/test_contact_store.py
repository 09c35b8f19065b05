"""The contacts the office keeps: the TOML seeds them, the office's word wins, nothing is added twice."""

from __future__ import annotations

import pytest

from config.campaign import Contact
from storage.repo import Store

YANBIAN = "延边朝鲜族自治州教育局"
MEIHEKOU = "梅河口市教育局"


def with_yanbian_contact(campaign, contact: Contact):
    units = [u.model_copy(update={"contacts": [contact]}) if u.name == YANBIAN else u for u in campaign.units]
    return campaign.model_copy(update={"units": units})


def test_the_toml_seeds_contacts_once_and_keeps_untouched_seeds_up_to_date(store: Store, campaign) -> None:
    store.directory.sync_units(campaign)
    (seeded,) = store.contacts.list(YANBIAN)
    assert seeded.from_config and seeded.added_by == "config" and seeded.added_at is not None

    store.directory.sync_units(campaign)  # a restart adds nobody
    assert [c.id for c in store.contacts.list(YANBIAN)] == [seeded.id]

    moved = with_yanbian_contact(campaign, Contact(name=seeded.name, emails=["new@yb.edu.cn"], phone="0433-1234567"))
    store.directory.sync_units(moved)
    (now,) = store.contacts.list(YANBIAN)
    assert now.id == seeded.id and now.emails == ["new@yb.edu.cn"] and now.phone == "0433-1234567"
    assert store.directory.unit_of_address(seeded.emails[0]) is None


def test_a_contact_the_office_removed_or_edited_is_not_brought_back_by_a_restart(store: Store, campaign) -> None:
    store.directory.sync_units(campaign)
    (seeded,) = store.contacts.list(YANBIAN)
    removed = store.contacts.remove(seeded.id, actor="office:wu")
    assert removed.name == seeded.name
    assert store.directory.unit_of_address(seeded.emails[0]) is None

    store.directory.sync_units(campaign)

    assert store.contacts.list(YANBIAN) == []
    assert store.directory.unit_of_address(seeded.emails[0]) is None
    assert store.audit.entries(action="contact.removed")[0].actor == "office:wu"

    other = next(u for u in campaign.units if u.contacts and u.name != YANBIAN)
    (contact,) = store.contacts.list(other.name)
    store.contacts.update(contact.id, phone="13900001111", actor="office:wu")
    store.directory.sync_units(campaign)
    assert store.contacts.list(other.name)[0].phone == "13900001111"


def test_a_contact_gone_from_the_toml_and_never_touched_leaves_with_it(store: Store, campaign) -> None:
    store.directory.sync_units(campaign)
    (seeded,) = store.contacts.list(YANBIAN)
    units = [u.model_copy(update={"contacts": []}) if u.name == YANBIAN else u for u in campaign.units]
    store.directory.sync_units(campaign.model_copy(update={"units": units}))
    assert store.contacts.list(YANBIAN) == []
    store.directory.sync_units(campaign)  # named again: it comes back
    assert [c.name for c in store.contacts.list(YANBIAN)] == [seeded.name]


def test_upsert_adds_once_then_updates_then_leaves_alone(store: Store, campaign) -> None:
    store.directory.sync_units(campaign)
    first, how = store.contacts.upsert(MEIHEKOU, "王丽", emails=["WangLi@QQ.com"], phone="13912345678", actor="import")
    assert how == "added" and first.emails == ["wangli@qq.com"] and first.added_by == "import"
    again, how = store.contacts.upsert(MEIHEKOU, "王丽", emails=["wangli@qq.com"], phone="13912345678", actor="import")
    assert how == "unchanged" and again.id == first.id
    changed, how = store.contacts.upsert(MEIHEKOU, "王丽", emails=[], wecom_user="wangli", actor="import")
    assert how == "updated" and changed.emails == ["wangli@qq.com"] and changed.wecom_user == "wangli"
    assert len(store.contacts.list(MEIHEKOU)) == 1
    assert store.directory.unit_of_wecom_user("wangli") == MEIHEKOU


def test_an_address_belongs_to_one_contact_and_moves_when_given_to_another(store: Store, campaign) -> None:
    store.directory.sync_units(campaign)
    a = store.contacts.add(MEIHEKOU, "王丽", emails=["shared@qq.com"])
    b = store.contacts.add(YANBIAN, "金老师", emails=["shared@qq.com"])
    assert store.contacts.get(a.id).emails == []
    assert store.contacts.owner_of_address("SHARED@qq.com").id == b.id
    assert store.directory.unit_of_address("shared@qq.com") == YANBIAN


def test_contacts_refuse_an_unknown_unit_an_empty_name_and_a_removed_id(store: Store, campaign) -> None:
    store.directory.sync_units(campaign)
    with pytest.raises(KeyError):
        store.contacts.add("不存在的单位", "张三")
    with pytest.raises(ValueError):
        store.contacts.add(MEIHEKOU, "  ")
    gone = store.contacts.add(MEIHEKOU, "王丽")
    store.contacts.remove(gone.id)
    with pytest.raises(KeyError):
        store.contacts.update(gone.id, phone="1")
    with pytest.raises(KeyError):
        store.contacts.remove(gone.id)


def test_office_members_are_listed_apart(store: Store, campaign) -> None:
    store.directory.sync_units(campaign)
    office = store.contacts.list(office=True)
    assert {c.name for c in office} == {m.name for m in campaign.office.members}
    assert all(c.unit_name for c in store.contacts.list(office=False))


def test_a_seeded_contact_the_office_renamed_is_still_its_seed_after_a_restart(store: Store, campaign) -> None:
    store.directory.sync_units(campaign)
    (seeded,) = store.contacts.list(YANBIAN)
    (member, *_) = store.contacts.list(office=True)
    store.contacts.update(seeded.id, name=f"{seeded.name}老师", actor="office:wu")
    store.contacts.update(member.id, name=f"{member.name}（办公室）", actor="office:wu")

    store.directory.sync_units(campaign)  # a restart
    store.directory.sync_units(campaign)  # and another

    (renamed,) = store.contacts.list(YANBIAN)
    assert (renamed.id, renamed.name) == (seeded.id, f"{seeded.name}老师")
    assert renamed.emails == seeded.emails and renamed.wecom_user == seeded.wecom_user
    assert [c.id for c in store.contacts.list() if c.wecom_user == seeded.wecom_user] == [seeded.id]
    assert store.directory.unit_of_wecom_user(seeded.wecom_user) == YANBIAN
    office = store.contacts.list(office=True)
    assert len(office) == len(campaign.office.members)
    assert f"{member.name}（办公室）" in [c.name for c in office] and member.name not in [c.name for c in office]
    assert len(store.audit.entries(action="contacts.seeded")) == 1  # only the first start added anyone
