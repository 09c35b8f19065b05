"""The full URL of a unit contact's page link, as receipts (notify) and the bot (bot) give it out.

Both floors need it and neither may import the other, so it lives here, beside the links it
spells (storage.unit_links). Giving a link out changes nothing: a token is the contact's current
generation signed, the same every time until the office revokes or reissues it.
"""

from __future__ import annotations

import datetime as dt

from config.campaign import Campaign
from storage.models import ContactView
from storage.repo import Store
from storage.unit_links import link_expiry, link_path

LINK_LINE_ZH = "查看和修改本单位材料（可直接上传大视频）："


def page_url(public_url: str, token: str) -> str:
    """The desk's public address + the page's path, one slash between them."""
    return public_url.rstrip("/") + link_path(token)


def contact_link(
    store: Store, campaign: Campaign, public_url: str | None, contact_id: int, *, now: dt.datetime
) -> str | None:
    """The contact's page URL, or None where none may be offered: no public address configured,
    links already expired (a dead link in a receipt only sends the clerk to the office), or a
    contact who is no unit's (the office's own members, removed contacts)."""
    expires_at = link_expiry(campaign)
    if not public_url or now >= expires_at:
        return None
    try:
        token = store.unit_links.token_for(contact_id, expires_at)
    except ValueError:
        return None
    return page_url(public_url, token)


def unit_contact(
    store: Store, unit: str, *, address: str | None = None, wecom_user: str | None = None
) -> ContactView | None:
    """The registered contact of `unit` behind an address or WeCom account; None for anyone else
    (an unknown sender, the office, another unit's contact): only a unit's own contact gets its link."""
    if address:
        contact = store.contacts.owner_of_address(address)
    elif wecom_user:
        contact = store.contacts.owner_of_wecom_user(wecom_user)
    else:
        return None
    if contact is None or contact.is_office or contact.unit_name != unit:
        return None
    return contact
