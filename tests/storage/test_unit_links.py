"""A unit contact's page link opens her unit's page until it expires or is revoked, and nothing else."""

from __future__ import annotations

import datetime as dt
import os
import stat
import string
from pathlib import Path

import pytest
from sqlalchemy import update

from storage.repo import Store
from storage.tables import ContactRecord, UnitRecord
from storage.unit_links import LINK_KEY_FILE, LinkRefused, link_expiry, link_path

YANBIAN = "延边朝鲜族自治州教育局"
CHANGBAI = "长白山管委会教育科技局"
NOW = dt.datetime(2021, 4, 1, 8, 0, tzinfo=dt.UTC)
LATER = NOW + dt.timedelta(days=30)


@pytest.fixture
def linked(store: Store, campaign) -> Store:
    store.directory.sync_units(campaign)
    return store


def contact_of(store: Store, unit: str) -> int:
    return store.contacts.list(unit)[0].id


def refused(store: Store, token: str, now: dt.datetime = NOW) -> LinkRefused:
    with pytest.raises(LinkRefused) as caught:
        store.unit_links.verify(token, now)
    return caught.value


def test_a_valid_link_opens_its_own_unit_until_it_expires(linked: Store, data_dir: Path) -> None:
    contact = contact_of(linked, YANBIAN)
    token = linked.unit_links.token_for(contact, LATER)
    assert link_path(token) == "/u/" + token and "/" not in token and "?" not in token

    claim = linked.unit_links.verify(token, NOW)
    assert (claim.unit, claim.contact_id, claim.expires_at) == (YANBIAN, contact, LATER)
    assert refused(linked, token, LATER).reason == LinkRefused.EXPIRED
    assert "过期" in str(refused(linked, token, LATER + dt.timedelta(days=1)))

    key = data_dir / LINK_KEY_FILE  # the key is outside the database, readable by its owner only
    assert key.exists() and stat.S_IMODE(os.stat(key).st_mode) == 0o600


def test_revoking_refuses_the_old_link_and_the_reissued_one_works(linked: Store) -> None:
    contact = contact_of(linked, YANBIAN)
    old = linked.unit_links.token_for(contact, LATER)
    new = linked.unit_links.reissue(contact, LATER, actor="office:wu")
    assert new != old
    assert refused(linked, old).reason == LinkRefused.REVOKED
    assert linked.unit_links.verify(new, NOW).unit == YANBIAN
    assert any(e.action == "unit_link.revoked" for e in linked.audit.entries(unit_name=YANBIAN))

    linked.unit_links.revoke(contact)
    assert refused(linked, new).reason == LinkRefused.REVOKED


def test_a_changed_character_is_refused_as_tampered(linked: Store) -> None:
    token = linked.unit_links.token_for(contact_of(linked, YANBIAN), LATER)
    for i in (0, len(token) // 2, len(token) - 1):
        changed = token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1 :]
        assert refused(linked, changed).reason == LinkRefused.TAMPERED
    assert refused(linked, "not-a-link").reason == LinkRefused.TAMPERED
    assert YANBIAN not in str(refused(linked, token + "x"))


def test_every_other_last_character_is_refused(linked: Store) -> None:
    # base64's last character has spare bits a decoder ignores: the token must still be exact
    token = linked.unit_links.token_for(contact_of(linked, YANBIAN), LATER)
    alphabet = string.ascii_letters + string.digits + "-_"
    for c in alphabet.replace(token[-1], ""):
        assert refused(linked, token[:-1] + c).reason == LinkRefused.TAMPERED


def test_each_units_link_opens_only_that_unit(linked: Store) -> None:
    yanbian = linked.unit_links.token_for(contact_of(linked, YANBIAN), LATER)
    changbai = linked.unit_links.token_for(contact_of(linked, CHANGBAI), LATER)
    assert linked.unit_links.verify(yanbian, NOW).unit == YANBIAN
    assert linked.unit_links.verify(changbai, NOW).unit == CHANGBAI


def test_a_removed_or_moved_contact_is_refused(linked: Store) -> None:
    removed = contact_of(linked, YANBIAN)
    token = linked.unit_links.token_for(removed, LATER)
    linked.contacts.remove(removed, actor="office:wu")
    assert refused(linked, token).reason == LinkRefused.REVOKED

    moved = contact_of(linked, CHANGBAI)
    token = linked.unit_links.token_for(moved, LATER)
    with linked.engine.begin() as connection:  # the contact now belongs to another unit
        other = connection.execute(UnitRecord.__table__.select().where(UnitRecord.name != CHANGBAI)).first()
        connection.execute(update(ContactRecord).where(ContactRecord.id == moved).values(unit_id=other.id))
    assert refused(linked, token).reason == LinkRefused.REVOKED


def test_an_office_contact_gets_no_link(linked: Store) -> None:
    office = linked.contacts.add(None, "吴老师", emails=["wu@jl.edu.cn"], is_office=True)
    with pytest.raises(ValueError):
        linked.unit_links.token_for(office.id, LATER)


def test_links_last_through_the_catch_up_days_after_the_deadline(campaign) -> None:
    expiry = link_expiry(campaign)
    assert expiry.tzinfo is not None
    assert expiry - campaign.deadline_end == dt.timedelta(days=campaign.reminders.catch_up_days)
