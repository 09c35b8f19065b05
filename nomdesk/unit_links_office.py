"""The office's hand on unit page links: show a contact's link, revoke it, reissue it.

One home for each, called by the CLI (`nomdesk links`) and the dashboard's contacts page alike.
A link belongs to one unit contact (storage.unit_links): the office's own members and removed
contacts have none. Revoking refuses every link the contact was given so far (a lost phone, a
clerk who left); reissuing does that and hands out the new one, which the office passes on.
"""

from __future__ import annotations

from config.campaign import Campaign
from config.settings import Settings
from storage.models import ContactView
from storage.repo import Store
from storage.unit_link_urls import page_url
from storage.unit_links import link_expiry

NO_PUBLIC_URL = "未设置 NOMDESK_PUBLIC_URL（单位访问本系统的网址），无法生成单位材料页面链接"


def _unit_contact(store: Store, contact_id: int) -> ContactView:
    """The live unit contact, or ValueError in Chinese (the CLI and the dashboard show it)."""
    contact = store.contacts.get(contact_id)
    if contact is None:
        raise ValueError(f"没有编号为 {contact_id} 的联系人")
    if contact.is_office or contact.unit_name is None:
        raise ValueError(f"{contact.name}（编号 {contact_id}）是办公室成员，不是单位联系人，没有单位材料页面链接")
    return contact


def _public_url(settings: Settings) -> str:
    if not settings.public_url:
        raise ValueError(NO_PUBLIC_URL)
    return settings.public_url


def issue_link(store: Store, campaign: Campaign, settings: Settings, contact_id: int) -> str:
    """The contact's current link (the same each time until revoked or reissued)."""
    public_url = _public_url(settings)
    _unit_contact(store, contact_id)
    return page_url(public_url, store.unit_links.token_for(contact_id, link_expiry(campaign)))


def unit_links(store: Store, campaign: Campaign, settings: Settings, unit: str) -> list[tuple[ContactView, str]]:
    """Each live contact of the unit with her current link (oldest contact first)."""
    public_url = _public_url(settings)
    expires_at = link_expiry(campaign)
    return [
        (c, page_url(public_url, store.unit_links.token_for(c.id, expires_at)))
        for c in store.contacts.list(unit, office=False)
    ]


def revoke_link(store: Store, campaign: Campaign, settings: Settings, contact_id: int, *, actor: str) -> ContactView:
    """Every link given to the contact so far opens nothing from now on (audited by the link store
    as `unit_link.revoked` with the actor). She gets a new one only when the office reissues it."""
    contact = _unit_contact(store, contact_id)
    store.unit_links.revoke(contact_id, actor=actor)
    return contact


def reissue_link(store: Store, campaign: Campaign, settings: Settings, contact_id: int, *, actor: str) -> str:
    """Revoke the contact's links and return her new one; the public URL is checked first, so a desk
    without one never revokes a link it cannot replace."""
    public_url = _public_url(settings)
    contact = _unit_contact(store, contact_id)
    token = store.unit_links.reissue(contact_id, link_expiry(campaign), actor=actor)
    store.audit.record(actor, "unit_link.reissued", contact.unit_name, contact_id=contact_id, contact=contact.name)
    return page_url(public_url, token)
