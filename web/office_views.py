"""What the office's own pages show (联系人, 待确认), computed from the store.

Kept apart from `views` (the campaign and unit pages): these pages are about who the units are and
which mails have no unit yet, not about the dossiers.
"""

from __future__ import annotations

from dataclasses import dataclass

from config.campaign import Campaign
from storage.models import ContactView, WaitingMail
from storage.repo import Store
from web.views import local


@dataclass
class ContactsPage:
    contacts: list[ContactView]  # the units' contacts shown (one unit's when filtered)
    units: list[str]  # every active unit, in the campaign's order
    without: list[str]  # the active units with no contact at all
    unit: str  # the unit filtered on ("" for all)


def contacts_page(store: Store, unit: str = "") -> ContactsPage:
    units = [u.name for u in store.directory.units()]
    everyone = store.contacts.list(office=False)
    having = {c.unit_name for c in everyone}
    shown = [c for c in everyone if c.unit_name == unit] if unit else everyone
    order = {name: i for i, name in enumerate(units)}
    shown.sort(key=lambda c: (order.get(c.unit_name or "", len(order)), c.id))
    return ContactsPage(contacts=shown, units=units, without=[u for u in units if u not in having], unit=unit)


@dataclass
class WaitingView:
    mail: WaitingMail
    arrived: str
    one_click: str | None  # the claimed unit, when she named it for certain and it has no contact yet
    register: bool  # 同时登记为联系人 is ticked at first: the guessed unit has no contact yet
    guess_contacts: list[str]  # the names of the guessed unit's contacts, for the office to weigh


def waiting_views(store: Store, campaign: Campaign) -> list[WaitingView]:
    contacts: dict[str, list[str]] = {}
    for c in store.contacts.list(office=False):
        contacts.setdefault(c.unit_name or "", []).append(c.name)
    views = []
    for mail in store.submissions.waiting_mails():
        claimed = mail.claim_unit if mail.claim_certain else None
        views.append(
            WaitingView(
                mail=mail,
                arrived=local(mail.arrived_at, campaign),
                one_click=claimed if claimed and not contacts.get(claimed) else None,
                register=bool(mail.guess) and not contacts.get(mail.guess or ""),
                guess_contacts=contacts.get(mail.guess or "", []),
            )
        )
    return views
