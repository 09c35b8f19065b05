"""The contacts of units and the office's own members: seeded from the campaign TOML, then kept
by the office (dashboard, `nomdesk contacts`, a confirmed unknown sender).

The TOML is the seed, not the only source: a restart adds the contacts it names that the store
does not know yet and brings untouched seeds up to date, but never brings back one the office
removed or overwrites one the office edited. A removed contact stays as a tombstone (its
addresses are freed, so the address is nobody's until registered again). Every change is audited
in its own transaction. An address belongs to one contact at most: giving it to another moves it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from sqlalchemy import delete
from sqlmodel import Session, select

from config.campaign import Campaign, Contact
from storage.base import Repo
from storage.models import ContactView
from storage.tables import ContactAddress, ContactRecord, UnitRecord, utcnow

Upserted = Literal["added", "updated", "unchanged"]


def clean_addresses(emails: Iterable[str]) -> list[str]:
    """Addresses as kept: stripped, lower case, each once, sorted."""
    return sorted({e.strip().lower() for e in emails if e and e.strip()})


class ContactRepo(Repo):
    # ---- reading -----------------------------------------------------------------------------

    def list(self, unit_name: str | None = None, *, office: bool | None = None) -> list[ContactView]:
        """Live contacts (oldest first), of one unit or all; `office` True/False: only the office's
        members / only units' contacts."""
        with self._read_session() as s:
            query = (
                select(ContactRecord, UnitRecord.name)
                .outerjoin(UnitRecord, UnitRecord.id == ContactRecord.unit_id)
                .where(ContactRecord.removed_at.is_(None))  # type: ignore[union-attr]
            )
            if unit_name is not None:
                query = query.where(UnitRecord.name == unit_name)
            if office is not None:
                query = query.where(ContactRecord.is_office == office)
            rows = s.exec(query.order_by(ContactRecord.id)).all()
            ids = [c.id for c, _ in rows]
            addresses: dict[int, list[str]] = {}
            if ids:
                found = s.exec(
                    select(ContactAddress).where(ContactAddress.contact_id.in_(ids)).order_by(ContactAddress.address)  # type: ignore[attr-defined]
                ).all()
                for a in found:
                    addresses.setdefault(a.contact_id, []).append(a.address)
            return [_view(c, u, addresses.get(c.id or 0, [])) for c, u in rows]

    def get(self, contact_id: int) -> ContactView | None:
        """A live contact by id (one look-up: an import asks this for every address of every row)."""
        with self._read_session() as s:
            row = s.get(ContactRecord, contact_id)
            if row is None or row.removed_at is not None:
                return None
            unit = s.get(UnitRecord, row.unit_id) if row.unit_id is not None else None
            return _view(row, unit.name if unit else None, _addresses(s, row))

    def owner_of_wecom_user(self, user_id: str) -> ContactView | None:
        """The live contact (of a unit or the office) with this WeCom account, if any."""
        with self._read_session() as s:
            query = select(ContactRecord.id).where(
                ContactRecord.wecom_user == user_id.strip(),
                ContactRecord.removed_at.is_(None),  # type: ignore[union-attr]
            )
            contact_id = s.exec(query.order_by(ContactRecord.id)).first()
        return self.get(contact_id) if contact_id is not None else None

    def owner_of_address(self, address: str) -> ContactView | None:
        """The live contact an address is registered to (case-insensitive), if any."""
        address = address.strip().lower()
        with self._read_session() as s:
            contact_id = s.exec(select(ContactAddress.contact_id).where(ContactAddress.address == address)).first()
        return self.get(contact_id) if contact_id is not None else None

    # ---- writing -----------------------------------------------------------------------------

    def add(
        self,
        unit_name: str | None,
        name: str,
        *,
        emails: Iterable[str] = (),
        wecom_user: str | None = None,
        phone: str | None = None,
        role: str = "",
        is_office: bool = False,
        actor: str = "office",
    ) -> ContactView:
        """A new contact of `unit_name` (None with `is_office`: a member of the office); a KeyError for
        a unit the store does not know. Its addresses move to it from whoever had them."""
        name = name.strip()
        if not name:
            raise ValueError("联系人姓名不能为空")
        with self._session() as s:
            unit_id = _unit_id(s, unit_name)
            row = ContactRecord(
                unit_id=unit_id,
                name=name,
                wecom_user=(wecom_user or "").strip() or None,
                phone=(phone or "").strip() or None,
                role=role.strip(),
                is_office=is_office,
                added_by=actor,
                added_at=utcnow(),
                office_edited=True,
            )
            s.add(row)
            s.flush()
            addresses = _set_addresses(s, row, emails)
            self._audit_row(s, actor, "contact.added", unit_name, _detail(row, addresses))
            return _view(row, unit_name, addresses)

    def update(
        self,
        contact_id: int,
        *,
        name: str | None = None,
        emails: Iterable[str] | None = None,
        wecom_user: str | None = None,
        phone: str | None = None,
        role: str | None = None,
        actor: str = "office",
    ) -> ContactView:
        """Change a live contact; a field left None stays; `emails` given replaces its addresses."""
        with self._session() as s:
            row, unit_name = _live(s, contact_id)
            if name is not None and name.strip():
                row.name = name.strip()
            if wecom_user is not None:
                row.wecom_user = wecom_user.strip() or None
            if phone is not None:
                row.phone = phone.strip() or None
            if role is not None:
                row.role = role.strip()
            row.office_edited = True
            s.add(row)
            s.flush()
            addresses = _set_addresses(s, row, emails) if emails is not None else _addresses(s, row)
            self._audit_row(s, actor, "contact.updated", unit_name, _detail(row, addresses))
            return _view(row, unit_name, addresses)

    def remove(self, contact_id: int, *, actor: str = "office") -> ContactView:
        """The contact is no longer one: its addresses are freed, the row stays as a tombstone so the
        TOML's seed does not bring it back on the next start."""
        with self._session() as s:
            row, unit_name = _live(s, contact_id)
            addresses = _addresses(s, row)
            s.exec(delete(ContactAddress).where(ContactAddress.contact_id == row.id))  # type: ignore[arg-type]
            row.removed_at = utcnow()
            row.office_edited = True
            s.add(row)
            self._audit_row(s, actor, "contact.removed", unit_name, _detail(row, addresses))
            return _view(row, unit_name, addresses)

    def upsert(
        self,
        unit_name: str,
        name: str,
        *,
        emails: Iterable[str] = (),
        wecom_user: str | None = None,
        phone: str | None = None,
        role: str | None = None,
        actor: str = "office",
    ) -> tuple[ContactView, Upserted]:
        """The unit's live contact of that name brought to these values (addresses given replace its
        own; empty values keep what it has), or a new one: an import run twice adds nobody twice."""
        existing = next((c for c in self.list(unit_name) if c.name == name.strip() and not c.is_office), None)
        if existing is None:
            return self.add(
                unit_name, name, emails=emails, wecom_user=wecom_user, phone=phone, role=role or "", actor=actor
            ), "added"
        addresses = clean_addresses(emails)
        wanted = {
            "emails": addresses or existing.emails,
            "wecom_user": (wecom_user or "").strip() or existing.wecom_user,
            "phone": (phone or "").strip() or existing.phone,
            "role": (role or "").strip() or existing.role,
        }
        if all(getattr(existing, key) == value for key, value in wanted.items()):
            return existing, "unchanged"
        updated = self.update(
            existing.id,
            emails=wanted["emails"],
            wecom_user=wanted["wecom_user"] or "",
            phone=wanted["phone"] or "",
            role=wanted["role"],
            actor=actor,
        )
        return updated, "updated"

    # ---- the TOML's seed ---------------------------------------------------------------------

    def seed(self, campaign: Campaign) -> int:
        """Add the contacts the campaign names that the store does not know yet (by unit and the
        TOML's name for them, which stays their key when the office renames one; tombstones
        included), bring the untouched seeds' addresses, phone and WeCom id up to the TOML, and take
        back untouched seeds the TOML no longer names. Returns how many were added."""
        people: list[tuple[str | None, Contact, bool]] = [
            (u.name, c, False) for u in campaign.units for c in u.contacts
        ]
        people += [(None, c, True) for c in campaign.office.members]
        added = 0
        with self._session() as s:
            unit_ids = {name: uid for uid, name in s.exec(select(UnitRecord.id, UnitRecord.name)).all()}
            seeds = {
                (r.unit_id, r.seed_name or r.name): r
                for r in s.exec(select(ContactRecord).where(ContactRecord.from_config))
            }
            named = {(unit_ids.get(u) if u else None, c.name) for u, c, _ in people}
            for key, row in seeds.items():
                if key not in named and not row.office_edited and row.removed_at is None:
                    # Gone from the TOML and never touched by the office: the seed takes it back.
                    s.exec(delete(ContactAddress).where(ContactAddress.contact_id == row.id))  # type: ignore[arg-type]
                    row.removed_at = utcnow()
                    s.add(row)
            for unit_name, contact, is_office in people:
                unit_id = unit_ids.get(unit_name) if unit_name else None
                row = seeds.get((unit_id, contact.name))
                if row is not None and row.office_edited:
                    continue  # the office's word wins over the seed (a removal included)
                if row is None or row.removed_at is not None:
                    row = row or ContactRecord(
                        unit_id=unit_id,
                        name=contact.name,
                        seed_name=contact.name,
                        is_office=is_office,
                        from_config=True,
                        added_at=utcnow(),
                    )
                    row.removed_at = None
                    added += 1
                row.wecom_user, row.phone = contact.wecom_user, contact.phone
                s.add(row)
                s.flush()
                _set_addresses(s, row, contact.emails, take=False)
            if added:
                self._audit_row(s, "system", "contacts.seeded", None, {"added": added})
        return added


# ---- helpers -------------------------------------------------------------------------------


def _unit_id(s: Session, unit_name: str | None) -> int | None:
    if unit_name is None:
        return None
    unit = s.exec(select(UnitRecord).where(UnitRecord.name == unit_name)).first()
    if unit is None:
        raise KeyError(f"unknown unit: {unit_name}")
    return unit.id


def _live(s: Session, contact_id: int) -> tuple[ContactRecord, str | None]:
    row = s.get(ContactRecord, contact_id)
    if row is None or row.removed_at is not None:
        raise KeyError(f"no contact {contact_id}")
    unit = s.get(UnitRecord, row.unit_id) if row.unit_id is not None else None
    return row, unit.name if unit else None


def _addresses(s: Session, row: ContactRecord) -> list[str]:
    found = s.exec(select(ContactAddress.address).where(ContactAddress.contact_id == row.id)).all()
    return sorted(found)


def _set_addresses(s: Session, row: ContactRecord, emails: Iterable[str], *, take: bool = True) -> list[str]:
    """The contact's addresses become exactly `emails`; an address someone else had moves here
    (with `take`; the seed does not take an address the office gave to another contact)."""
    addresses = clean_addresses(emails)
    s.exec(delete(ContactAddress).where(ContactAddress.contact_id == row.id))  # type: ignore[arg-type]
    kept = []
    for address in addresses:
        owner = s.exec(select(ContactAddress).where(ContactAddress.address == address)).first()
        if owner is not None and not take:
            continue
        if owner is not None:
            s.delete(owner)
            s.flush()
        s.add(ContactAddress(contact_id=row.id or 0, address=address))
        kept.append(address)
    s.flush()
    return kept


def _detail(row: ContactRecord, addresses: list[str]) -> dict:
    return {"contact_id": row.id, "name": row.name, "emails": addresses, "role": row.role}


def _view(row: ContactRecord, unit_name: str | None, emails: list[str]) -> ContactView:
    return ContactView(
        id=row.id or 0,
        unit_name=unit_name,
        name=row.name,
        emails=emails,
        wecom_user=row.wecom_user,
        phone=row.phone,
        role=row.role,
        is_office=row.is_office,
        from_config=row.from_config,
        added_by=row.added_by,
        added_at=row.added_at,
    )
