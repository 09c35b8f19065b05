"""The one home of the office's contact actions: a sheet imported (bad rows named, nothing twice),
exported and read back into a fresh store, and contacts added, changed and removed by hand."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from config import Campaign
from intake.contact_sheet import contacts_template_xlsx
from nomdesk.contacts import (
    add_contact,
    export_contacts,
    import_contacts,
    remove_contact,
    unit_contacts,
    update_contact,
)
from storage.repo import Store
from tests.support.sheets import workbook_bytes

CHANGCHUN = "长春市教育局"
JILIN = "吉林市教育局"
YANBIAN = "延边朝鲜族自治州教育局"
YANBIAN_ADDRESS = "ybjyj_zcjy@163.com"  # 伍凤霞's, seeded from the campaign TOML
ACTOR = "office:test"


def open_store(path: Path, campaign: Campaign) -> Store:
    store = Store.open(path)
    store.directory.sync_units(campaign)
    return store


@pytest.fixture
def store(tmp_path: Path, campaign: Campaign) -> Iterator[Store]:
    with open_store(tmp_path / "var", campaign) as s:
        yield s


def office_sheet() -> bytes:
    """The office's own list: a merged title, columns in its own order, its own typing habits."""
    return workbook_bytes(
        [
            ["2021年联系人名单"],
            ["电子邮箱", "姓名", "推荐单位", "联系电话", "企业微信"],
            ["cc_jyj@163.com；wf@qq.com", "王\u3000芳", "长春市\u3000", 13812345678.0, "wangfang"],
            ["jl_edu@126.com", "赵德明", JILIN, "0432-1234567", None],
            [None, None, None, None, None],
            ["lm@qq.com", "李明", "长春市教育局", None, None],
        ],
        merges=("A1:E1",),
    )


def people(store: Store, campaign: Campaign) -> list[tuple[Any, ...]]:
    return [(c.unit_name, c.name, c.phone, c.emails, c.wecom_user, c.role) for c in unit_contacts(store, campaign)]


def test_the_office_sheet_imports_once(store: Store, campaign: Campaign) -> None:
    first = import_contacts(store, campaign, office_sheet(), actor=ACTOR, filename="联系人.xlsx")
    assert (first.added, first.updated, first.unchanged, first.problems) == (3, 0, 0, [])
    changchun = store.contacts.list(CHANGCHUN)
    assert [(c.name, c.phone, c.emails, c.wecom_user) for c in changchun] == [
        ("王芳", "13812345678", ["cc_jyj@163.com", "wf@qq.com"], "wangfang"),
        ("李明", None, ["lm@qq.com"], None),
    ]
    assert store.directory.unit_of_address("WF@qq.com") == CHANGCHUN  # the desk now knows her mail
    assert {(a.action, a.actor) for a in store.audit.entries(unit_name=CHANGCHUN, action="contact.added")} == {
        ("contact.added", ACTOR)
    }

    again = import_contacts(store, campaign, office_sheet(), actor=ACTOR, filename="联系人.xlsx")
    assert (again.added, again.updated, again.unchanged, again.problems) == (0, 0, 3, [])
    assert len(store.contacts.list(CHANGCHUN)) == 2


def test_an_edited_row_updates_its_contact(store: Store, campaign: Campaign) -> None:
    import_contacts(store, campaign, office_sheet(), actor=ACTOR)
    edited = workbook_bytes([["单位", "联系人", "电话"], ["吉林市", "赵德明", "13900000000"]])
    result = import_contacts(store, campaign, edited, actor=ACTOR)
    assert (result.added, result.updated, result.unchanged) == (0, 1, 0)
    (zhao,) = store.contacts.list(JILIN)
    assert (zhao.phone, zhao.emails) == ("13900000000", ["jl_edu@126.com"])  # empty cells keep what it had


def test_bad_rows_are_each_named_and_the_good_ones_imported_once(store: Store, campaign: Campaign) -> None:
    sheet = workbook_bytes(
        [
            ["单位", "联系人", "邮箱"],
            ["长春市", "王芳", "wf@qq.com"],
            ["梅河口", "刘一", "liu@qq"],
            ["北京市教育局", "张三", "zs@qq.com"],
            ["吉林市", "赵德明", YANBIAN_ADDRESS],
            ["吉林市", "钱七", "qq7@qq.com"],
        ]
    )
    expected = [
        "第 3 行：邮箱“liu@qq”格式不正确",
        "第 4 行：单位“北京市教育局”不在本次活动的单位名单中",
        f"第 5 行：邮箱“{YANBIAN_ADDRESS}”已登记为“{YANBIAN}”的联系人伍凤霞的邮箱",
    ]
    first = import_contacts(store, campaign, sheet, actor=ACTOR)
    assert first.problems == expected
    assert (first.added, first.updated, first.unchanged) == (2, 0, 0)
    assert store.directory.unit_of_address(YANBIAN_ADDRESS) == YANBIAN  # not moved silently
    assert [c.name for c in store.contacts.list(JILIN)] == ["钱七"]
    assert store.contacts.list("梅河口市教育局") == []

    second = import_contacts(store, campaign, sheet, actor=ACTOR)
    assert second.problems == expected
    assert (second.added, second.updated, second.unchanged) == (0, 0, 2)


def test_the_same_person_twice_in_a_sheet_is_named(store: Store, campaign: Campaign) -> None:
    sheet = workbook_bytes(
        [["单位", "联系人", "邮箱"], ["长春市", "王芳", "a@b.cn"], ["长春市教育局", "王芳", "c@d.cn"]]
    )
    result = import_contacts(store, campaign, sheet, actor=ACTOR)
    assert result.problems == ["第 3 行：与第 2 行是同一联系人，请合并为一行"]
    assert [c.emails for c in store.contacts.list(CHANGCHUN)] == [["a@b.cn"]]


def test_the_untouched_template_imports_nothing(store: Store, campaign: Campaign) -> None:
    before = people(store, campaign)
    result = import_contacts(store, campaign, contacts_template_xlsx([u.name for u in campaign.units]), actor=ACTOR)
    assert (result.added, result.updated, result.unchanged, result.problems) == (0, 0, 0, [])
    assert people(store, campaign) == before


def test_a_file_that_is_not_a_sheet_is_a_value_error(store: Store, campaign: Campaign) -> None:
    with pytest.raises(ValueError, match="不是 Excel 表格"):
        import_contacts(store, campaign, b"%PDF-1.4 not a sheet", actor=ACTOR, filename="名单.pdf")


def test_export_round_trips_into_a_fresh_store(store: Store, campaign: Campaign, tmp_path: Path) -> None:
    import_contacts(store, campaign, office_sheet(), actor=ACTOR)
    add_contact(store, campaign, "梅河口", "=刘一", emails=["liu@qq.com"], role="负责人", actor=ACTOR)
    exported = export_contacts(store, campaign)
    units = [name for name, *_ in people(store, campaign)]
    order = [u.name for u in campaign.units]
    assert units == sorted(units, key=order.index)  # in the campaign's unit order
    assert "=刘一" in [name for _, name, *_ in people(store, campaign)]

    with open_store(tmp_path / "fresh", campaign) as fresh:
        result = import_contacts(fresh, campaign, exported, actor=ACTOR)
        assert result.problems == []
        assert people(fresh, campaign) == people(store, campaign)


def test_add_contact_checks_what_the_clerk_typed(store: Store, campaign: Campaign) -> None:
    added = add_contact(
        store, campaign, "长春", "王芳", emails=["WF@qq.com；wf2@qq.com"], phone="13812345678", actor=ACTOR
    )
    assert (added.unit_name, added.emails, added.added_by) == (CHANGCHUN, ["wf2@qq.com", "wf@qq.com"], ACTOR)
    with pytest.raises(ValueError, match="单位“北京”不在本次活动的单位名单中"):
        add_contact(store, campaign, "北京", "张三", actor=ACTOR)
    with pytest.raises(ValueError, match="邮箱格式不正确：“zs@qq”"):
        add_contact(store, campaign, "吉林市", "张三", emails=["zs@qq"], actor=ACTOR)
    with pytest.raises(ValueError, match=f"已登记为“{YANBIAN}”的联系人伍凤霞的邮箱"):
        add_contact(store, campaign, "吉林市", "张三", emails=[YANBIAN_ADDRESS], actor=ACTOR)
    with pytest.raises(ValueError, match=f"{CHANGCHUN} 已有联系人 王芳"):
        add_contact(store, campaign, "长春市", "王芳", actor=ACTOR)
    with pytest.raises(ValueError, match="姓名不能为空"):
        add_contact(store, campaign, "长春市", "\u3000", actor=ACTOR)
    assert [c.name for c in store.contacts.list(JILIN)] == []


def test_update_and_remove(store: Store, campaign: Campaign) -> None:
    contact = add_contact(store, campaign, "吉林市", "赵德明", emails=["z@qq.com"], actor=ACTOR)
    changed = update_contact(store, campaign, contact.id, emails=["zdm@qq.com"], role="负责人", actor=ACTOR)
    assert (changed.emails, changed.role, changed.name) == (["zdm@qq.com"], "负责人", "赵德明")
    assert store.directory.unit_of_address("z@qq.com") is None
    with pytest.raises(ValueError, match="伍凤霞"):
        update_contact(store, campaign, contact.id, emails=[YANBIAN_ADDRESS], actor=ACTOR)

    removed = remove_contact(store, contact.id, actor=ACTOR)
    assert removed.name == "赵德明"
    assert store.directory.unit_of_address("zdm@qq.com") is None
    assert store.contacts.list(JILIN) == []
    with pytest.raises(ValueError, match=f"没有编号为 {contact.id} 的联系人"):
        remove_contact(store, contact.id, actor=ACTOR)
    with pytest.raises(ValueError, match="没有编号为"):
        update_contact(store, campaign, contact.id, role="x", actor=ACTOR)
    actions = [a.action for a in store.audit.entries(unit_name=JILIN) if a.action.startswith("contact.")]
    assert sorted(actions) == ["contact.added", "contact.removed", "contact.updated"]


def test_a_unit_name_that_only_contains_a_unit_is_asked_about_never_taken(store: Store, campaign: Campaign) -> None:
    sheet = workbook_bytes(
        [
            ["单位", "联系人", "邮箱"],
            ["梅河口康美职院", "刘一", "liu@qq.com"],
            ["长春市第一中学", "王芳", "wf@qq.com"],
            ["\u3000长春\u3000", "李明", "lm@qq.com"],  # the short name receipts use, padded: taken
        ]
    )
    result = import_contacts(store, campaign, sheet, actor=ACTOR)
    assert result.problems == [
        "第 2 行：单位“梅河口康美职院”不明确，是否指“梅河口市教育局”？请填写单位全称",
        "第 3 行：单位“长春市第一中学”不明确，是否指“长春市教育局”？请填写单位全称",
    ]
    assert (result.added, result.updated, result.unchanged) == (1, 0, 0)
    assert [c.name for c in store.contacts.list(CHANGCHUN)] == ["李明"]
    assert store.contacts.list("梅河口市教育局") == []
    assert store.contacts.owner_of_address("wf@qq.com") is None

    with pytest.raises(ValueError, match="单位“长春市第一中学”不明确，是否指“长春市教育局”？请填写单位全称"):
        add_contact(store, campaign, "长春市第一中学", "王芳", emails=["wf@qq.com"], actor=ACTOR)
    assert [c.name for c in store.contacts.list(CHANGCHUN)] == ["李明"]


def test_the_import_summary_is_worded_once_for_terminal_and_page(store: Store, campaign: Campaign) -> None:
    result = import_contacts(store, campaign, office_sheet(), actor=ACTOR)
    again = import_contacts(store, campaign, office_sheet(), actor=ACTOR)
    assert result.summary() == "新增 3 人，更新 0 人，未变 0 人"
    assert again.counts() == [("新增", 0), ("更新", 0), ("未变", 3)]
