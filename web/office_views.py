"""What the office's own pages show (联系人, 待确认), computed from the store.

Kept apart from `views` (the campaign and unit pages): these pages are about who the units are and
which mails have no unit yet, not about the dossiers.
"""

from __future__ import annotations

from dataclasses import dataclass

from config.campaign import Campaign
from storage.models import HELD_PREFIX, ContactView, WaitingMail
from storage.repo import Store
from web.views import local


@dataclass
class Unreachable:
    unit: str
    why: str  # 无联系人, or 联系人没有邮箱或企业微信账号


NO_CONTACT_ZH = "无联系人"
NO_ADDRESS_ZH = "联系人没有邮箱或企业微信账号"


@dataclass
class ContactsPage:
    contacts: list[ContactView]  # the units' contacts shown (one unit's when filtered)
    units: list[str]  # every active unit, in the campaign's order
    unreachable: list[Unreachable]  # the active units no reminder or bulk message can reach
    unit: str  # the unit filtered on ("" for all)


def contacts_page(store: Store, unit: str = "") -> ContactsPage:
    units = [u.name for u in store.directory.units()]
    everyone = store.contacts.list(office=False)
    having = {c.unit_name for c in everyone}
    # As schedule.status `UnitStatus.reachable`: reminders and bulk messages go by mail or WeCom, so
    # a contact with neither (a name and a phone) reaches no one.
    reachable = {c.unit_name for c in everyone if c.emails or c.wecom_user}
    unreachable = [
        Unreachable(unit=u, why=NO_ADDRESS_ZH if u in having else NO_CONTACT_ZH) for u in units if u not in reachable
    ]
    shown = [c for c in everyone if c.unit_name == unit] if unit else everyone
    order = {name: i for i, name in enumerate(units)}
    shown.sort(key=lambda c: (order.get(c.unit_name or "", len(order)), c.id))
    return ContactsPage(contacts=shown, units=units, unreachable=unreachable, unit=unit)


@dataclass
class WaitingItem:
    mail: WaitingMail
    arrived: str


@dataclass
class WaitingGroup:
    """One sender's mails in the 待确认 queue. Assigning one assigns them all (the desk takes every
    waiting mail of hers), so the office sees them together and decides once."""

    key: str  # her address, or "#<submission id>" for a mail with none (assigned alone)
    sender: str
    sender_name: str
    wecom_user: str | None  # she wrote to the WeCom app: shown instead of her made-up address
    items: list[WaitingItem]  # oldest first
    guess: str | None  # her one guess (storage.submissions `waiting_mails`), as she is counted
    one_click: str | None  # the unit she named for certain (newest), when it has no contact yet
    register: bool  # 同时登记为联系人 is ticked at first: the guessed unit has no contact yet
    guess_contacts: list[str]  # the names of the guessed unit's contacts, for the office to weigh
    # "疑似冒用发件人：…": a registered contact's address whose mail failed sender authentication
    # (nomdesk.held); such a mail is a card of its own, decided alone.
    held_reason: str | None = None

    @property
    def first_id(self) -> int:
        """The mail the group's buttons name (the desk takes her other waiting mails with it)."""
        return self.items[0].mail.submission_id

    @property
    def ids(self) -> list[int]:
        return [item.mail.submission_id for item in self.items]


def waiting_groups(store: Store, campaign: Campaign) -> list[WaitingGroup]:
    """The 待确认 queue by sender, in the order her first mail arrived."""
    contacts: dict[str, list[str]] = {}
    for c in store.contacts.list(office=False):
        contacts.setdefault(c.unit_name or "", []).append(c.name)
    by_sender: dict[str, list[WaitingMail]] = {}
    for mail in store.submissions.waiting_mails():  # in arrival order
        alone = not mail.sender or mail.held_unit is not None
        by_sender.setdefault(f"#{mail.submission_id}" if alone else mail.sender, []).append(mail)
    groups = []
    for key, mails in by_sender.items():
        newest_first = mails[::-1]
        guess = mails[-1].guess  # the same for all her mails, so the queue's counts agree with the card
        claimed = next((m.claim_unit for m in newest_first if m.claim_unit and m.claim_certain), None)
        groups.append(
            WaitingGroup(
                key=key,
                sender=mails[0].sender or "",
                sender_name=next((m.sender_name for m in newest_first if m.sender_name), ""),
                wecom_user=next((m.wecom_user for m in newest_first if m.wecom_user), None),
                items=[WaitingItem(mail=m, arrived=local(m.arrived_at, campaign)) for m in mails],
                guess=guess,
                one_click=claimed if claimed and not contacts.get(claimed) else None,
                register=bool(guess) and not contacts.get(guess or ""),
                guess_contacts=contacts.get(guess or "", []),
                held_reason=HELD_PREFIX + (mails[0].held_reason or "") if mails[0].held_unit else None,
            )
        )
    return groups


@dataclass
class StoredFile:
    file_id: int
    path: str  # the logical path: attachment name, then the path inside archives
    name: str
    size: str  # "2.4 MB"


@dataclass
class DownloadGroup:
    """A counted submission's stored files, each downloadable on its own."""

    label: str  # 第 N 次报送（受理编号）
    files: list[StoredFile]


def size_text(size: int) -> str:
    if size >= 1 << 20:
        return f"{size / (1 << 20):.1f} MB"
    return f"{max(1, round(size / 1024))} KB"


def unit_downloads(store: Store, campaign: Campaign, unit: str) -> list[DownloadGroup]:
    """The unit's stored files by submission (voided ones left out, as `web.views.unit_file`
    refuses their files): the unit page's single-file downloads."""
    submissions = store.submissions.of_unit(unit)
    files = store.submissions.files_of([s.id or 0 for s in submissions])
    groups = []
    for number, sub in enumerate(submissions, start=1):
        ref = campaign.submission_ref(sub.unit_name, sub.unit_index) if sub.unit_index else ""
        stored = [
            StoredFile(f.id or 0, f.path, f.path.rsplit("/", 1)[-1], size_text(f.size)) for f in files[sub.id or 0]
        ]
        if stored:
            groups.append(DownloadGroup(f"第 {number} 次报送" + (f"（{ref}）" if ref else ""), stored))
    return groups
