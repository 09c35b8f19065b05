"""The one home of the office's contact actions: add, update, remove, import a sheet, export it.

The command line (`nomdesk contacts`) and the dashboard's 联系人 page both call these, so a
contact typed in either is checked the same way: the unit is one of the campaign's (by full name
or a name it is known by), addresses are addresses, and an address that already reaches another
unit is refused with that unit named, never moved over silently (a reply meant for 长春 must not
start going to 吉林 because of one mistyped row). Storage keeps the audit trail.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from pydantic import BaseModel

from config.campaign import Campaign, Unit
from intake.contact_sheet import (
    ContactRow,
    clean_name,
    clean_phone,
    clean_text,
    clean_wecom_user,
    contacts_xlsx,
    read_contact_sheet,
    split_addresses,
)
from storage.models import ContactView
from storage.repo import Store

log = logging.getLogger(__name__)
OFFICE_LABEL = "办公室"


class ContactImport(BaseModel):
    """What an import did: counts of contacts, and a Chinese line per row it did not take."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    problems: list[str] = []

    def counts(self) -> list[tuple[str, int]]:
        """The counts as the office reads them, in order; the terminal and the 联系人 page both
        word them from here."""
        return [("新增", self.added), ("更新", self.updated), ("未变", self.unchanged)]

    def summary(self) -> str:
        text = "，".join(f"{label} {count} 人" for label, count in self.counts())
        if self.problems:
            text += f"；{len(self.problems)} 行有问题，未导入"
        return text


# ---- reading -------------------------------------------------------------------------------


def resolve_unit(campaign: Campaign, text: str) -> Unit | None:
    """The campaign's unit a clerk means: its full name, an alias or the short name receipts use
    ("长春"), nothing looser (a school named after its city is not the city's bureau)."""
    return campaign.unit_called(clean_text(text))


def unit_problem(campaign: Campaign, text: str) -> str:
    """Why `text` is no unit of the campaign, in Chinese: a text that contains a unit's name
    ("长春市第一中学") is asked about, never taken for that unit."""
    text = clean_text(text)
    guess = campaign.unit_named(text)
    if guess is not None:
        return f"单位“{text}”不明确，是否指“{guess.name}”？请填写单位全称"
    return f"单位“{text}”不在本次活动的单位名单中"


def unit_contacts(store: Store, campaign: Campaign, unit: str | None = None) -> list[ContactView]:
    """The units' live contacts (not the office's members), in the campaign's unit order; of one
    unit when `unit` (its full name) is given."""
    order = {u.name: n for n, u in enumerate(campaign.units)}
    contacts = store.contacts.list(unit, office=False)
    return sorted(contacts, key=lambda c: (order.get(c.unit_name or "", len(order)), c.unit_name or "", c.id))


# ---- checks shared by every action ----------------------------------------------------------


def _owner_label(contact: ContactView) -> str:
    return f"“{contact.unit_name}”的联系人{contact.name}" if contact.unit_name else f"{OFFICE_LABEL}的{contact.name}"


def _conflicts(
    store: Store, unit_name: str | None, emails: Iterable[str], wecom_user: str | None, *, contact_id: int | None
) -> list[str]:
    """What of these addresses and WeCom account already belongs to a contact of another unit (or
    of the office): each a Chinese reason naming who has it."""
    reasons = []
    for address in emails:
        owner = store.contacts.owner_of_address(address)
        if owner is not None and owner.id != contact_id and (owner.unit_name != unit_name or owner.is_office):
            reasons.append(f"邮箱“{address}”已登记为{_owner_label(owner)}的邮箱")
    other = store.contacts.owner_of_wecom_user(wecom_user) if wecom_user else None
    if other is not None and other.id != contact_id and other.unit_name != unit_name:
        reasons.append(f"企业微信账号“{wecom_user}”已登记为{_owner_label(other)}的账号")
    return reasons


def _addresses(emails: Iterable[str]) -> list[str]:
    """Every address in the texts given (a text may hold several); a ValueError naming bad ones."""
    good: list[str] = []
    bad: list[str] = []
    for text in emails:
        found, wrong = split_addresses(text)
        good += [a for a in found if a not in good]
        bad += wrong
    if bad:
        raise ValueError("邮箱格式不正确：" + "、".join(f"“{b}”" for b in bad))
    return good


def _unit(campaign: Campaign, unit: str) -> Unit:
    found = resolve_unit(campaign, unit)
    if found is None:
        raise ValueError(unit_problem(campaign, unit))
    return found


def _same_name(store: Store, unit_name: str | None, name: str, contact_id: int | None = None) -> ContactView | None:
    return next(
        (c for c in store.contacts.list(unit_name) if c.name == name and c.id != contact_id and not c.is_office),
        None,
    )


# ---- the actions ---------------------------------------------------------------------------


def add_contact(
    store: Store,
    campaign: Campaign,
    unit: str,
    name: str,
    *,
    emails: Iterable[str] = (),
    phone: str | None = None,
    wecom_user: str | None = None,
    role: str = "",
    actor: str,
) -> ContactView:
    """A new contact of a campaign unit (given by any of its names); a ValueError with a Chinese
    message for an unknown unit, an empty name, a malformed address, an address or account that
    belongs to another unit, or a name the unit already has (edit that one instead)."""
    config_unit = _unit(campaign, unit)
    name = clean_name(name)
    if not name:
        raise ValueError("联系人姓名不能为空")
    addresses = _addresses(emails)
    account = clean_wecom_user(wecom_user)
    twin = _same_name(store, config_unit.name, name)
    if twin is not None:
        raise ValueError(f"{config_unit.name} 已有联系人 {name}（编号 {twin.id}），如需修改请编辑该联系人")
    reasons = _conflicts(store, config_unit.name, addresses, account, contact_id=None)
    if reasons:
        raise ValueError("；".join(reasons))
    try:
        return store.contacts.add(
            config_unit.name,
            name,
            emails=addresses,
            wecom_user=account,
            phone=clean_phone(phone),
            role=clean_text(role),
            actor=actor,
        )
    except KeyError as exc:  # in the campaign file but not yet in the store: the desk was not restarted
        raise ValueError(f"单位“{config_unit.name}”尚未载入，请重新启动受理台后再试") from exc


def update_contact(
    store: Store,
    campaign: Campaign,
    contact_id: int,
    *,
    name: str | None = None,
    emails: Iterable[str] | None = None,
    phone: str | None = None,
    wecom_user: str | None = None,
    role: str | None = None,
    actor: str,
) -> ContactView:
    """Change a contact: a field left None stays as it is, `emails` given replaces its addresses;
    the same checks as `add_contact` (ValueError with a Chinese message)."""
    current = store.contacts.get(contact_id)
    if current is None:
        raise ValueError(f"没有编号为 {contact_id} 的联系人")
    new_name = clean_name(name) if name is not None else None
    if new_name is not None and not new_name:
        raise ValueError("联系人姓名不能为空")
    if new_name and new_name != current.name and _same_name(store, current.unit_name, new_name, contact_id):
        raise ValueError(f"{current.unit_name} 已有联系人 {new_name}，请勿重复")
    addresses = _addresses(emails) if emails is not None else None
    account = clean_wecom_user(wecom_user) if wecom_user is not None else None
    reasons = _conflicts(store, current.unit_name, addresses or [], account, contact_id=contact_id)
    if reasons:
        raise ValueError("；".join(reasons))
    return store.contacts.update(
        contact_id,
        name=new_name,
        emails=addresses,
        wecom_user=(account or "") if wecom_user is not None else None,
        phone=(clean_phone(phone) or "") if phone is not None else None,
        role=clean_text(role) if role is not None else None,
        actor=actor,
    )


def remove_contact(store: Store, contact_id: int, *, actor: str) -> ContactView:
    """The contact is no longer one (its addresses reach nobody until registered again); a
    ValueError when there is no such live contact."""
    try:
        return store.contacts.remove(contact_id, actor=actor)
    except KeyError as exc:
        raise ValueError(f"没有编号为 {contact_id} 的联系人（可能已删除）") from exc


def import_contacts(store: Store, campaign: Campaign, data: bytes, *, actor: str, filename: str = "") -> ContactImport:
    """The office's contact sheet into the store: each good row added or brought up to date (by
    unit and name, so a second import of the same sheet changes nothing), each bad row named by its
    row number and left out. A ContactSheetError (a ValueError) when the file is no contact sheet."""
    sheet = read_contact_sheet(data, filename)
    result = ContactImport()
    seen: dict[tuple[str, str], int] = {}
    for row in sheet.rows:
        reasons = list(row.problems)
        config_unit = resolve_unit(campaign, row.unit) if row.unit else None
        if row.unit and config_unit is None:
            reasons.append(unit_problem(campaign, row.unit))
        if config_unit is not None and row.name:
            first = seen.get((config_unit.name, row.name))
            if first is not None:
                reasons.append(f"与第 {first} 行是同一联系人，请合并为一行")
            reasons += _conflicts(store, config_unit.name, row.emails, row.wecom_user, contact_id=None)
        if reasons or config_unit is None:
            result.problems.append(f"第 {row.row} 行：" + "；".join(reasons))
            continue
        seen[(config_unit.name, row.name)] = row.row
        try:
            _, done = store.contacts.upsert(
                config_unit.name,
                row.name,
                emails=row.emails,
                wecom_user=row.wecom_user,
                phone=row.phone,
                role=row.role,
                actor=actor,
            )
        except KeyError:
            result.problems.append(f"第 {row.row} 行：单位“{config_unit.name}”尚未载入，请重新启动受理台后再试")
            continue
        setattr(result, done, getattr(result, done) + 1)
    log.info(
        "contacts imported: %d added, %d updated, %d unchanged, %d rows refused",
        result.added,
        result.updated,
        result.unchanged,
        len(result.problems),
    )
    return result


def export_contacts(store: Store, campaign: Campaign) -> bytes:
    """Every live contact of a unit as the contact sheet, in the campaign's unit order: the file
    `import_contacts` reads back to the same contacts."""
    rows = [
        ContactRow(
            unit=c.unit_name or "",
            name=c.name,
            phone=c.phone,
            emails=c.emails,
            wecom_user=c.wecom_user,
            role=c.role,
        )
        for c in unit_contacts(store, campaign)
    ]
    return contacts_xlsx(rows)
