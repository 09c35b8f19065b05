"""The directory: units and their contacts (from the campaign config, plus those the office
adds), the office's own members, and the office users who log in to the dashboard.

Who a sender or a WeCom user is (which unit, or the office) is asked here.
"""

from __future__ import annotations

from collections.abc import Iterable
from email.utils import parseaddr

from sqlalchemy import delete
from sqlmodel import select

from config.campaign import Campaign
from storage.base import Database, Repo
from storage.models import ContactView
from storage.overview import OverviewRepo
from storage.passwords import dummy_hash, hash_password, verify_password
from storage.tables import ContactAddress, ContactRecord, OfficeUser, UnitRecord, utcnow


class DirectoryRepo(Repo):
    def __init__(self, db: Database, overview: OverviewRepo) -> None:
        super().__init__(db)
        self._overview = overview

    def sync_units(self, campaign: Campaign) -> None:
        """Load units and contacts from the config. The config wins for what it defines; contacts
        added through `add_contact` are kept; units gone from the config are marked inactive."""
        self._overview.forget()
        with self._session() as s:
            existing = {u.name: u for u in s.exec(select(UnitRecord)).all()}
            config_names = set()
            for position, unit in enumerate(campaign.units):
                config_names.add(unit.name)
                row = existing.get(unit.name) or UnitRecord(name=unit.name)
                row.kind = str(unit.kind)
                row.aliases = list(unit.aliases)
                row.position = position
                row.from_config = True
                row.active = True
                s.add(row)
            for name, row in existing.items():
                if row.from_config and name not in config_names:
                    row.active = False
                    s.add(row)
            s.flush()
            unit_ids = {u.name: u.id for u in s.exec(select(UnitRecord)).all()}

            old = s.exec(select(ContactRecord.id).where(ContactRecord.from_config)).all()
            if old:
                s.exec(delete(ContactAddress).where(ContactAddress.contact_id.in_(old)))
                s.exec(delete(ContactRecord).where(ContactRecord.id.in_(old)))
                s.flush()
            people = [(unit_ids[u.name], c, False) for u in campaign.units for c in u.contacts]
            people += [(None, c, True) for c in campaign.office.members]
            for unit_id, contact, is_office in people:
                row = ContactRecord(
                    unit_id=unit_id,
                    name=contact.name,
                    wecom_user=contact.wecom_user,
                    phone=contact.phone,
                    is_office=is_office,
                    from_config=True,
                )
                s.add(row)
                s.flush()
                for address in {e.strip().lower() for e in contact.emails if e.strip()}:
                    # The config wins over an address someone added by hand.
                    s.exec(delete(ContactAddress).where(ContactAddress.address == address))
                    s.add(ContactAddress(contact_id=row.id, address=address))
                s.flush()
            self._audit_row(s, "system", "units.synced", None, {"units": len(campaign.units)})

    def units(self, *, active_only: bool = True) -> list[UnitRecord]:
        with self._session() as s:
            query = select(UnitRecord).order_by(UnitRecord.position, UnitRecord.name)
            if active_only:
                query = query.where(UnitRecord.active)
            return list(s.exec(query).all())

    def add_contact(
        self,
        unit_name: str | None,
        name: str,
        *,
        emails: Iterable[str] = (),
        wecom_user: str | None = None,
        phone: str | None = None,
        is_office: bool = False,
        actor: str = "office",
    ) -> ContactView:
        """A contact added by the office (kept across config syncs); an address moves to it."""
        with self._session() as s:
            unit_id = None
            if unit_name is not None:
                unit = s.exec(select(UnitRecord).where(UnitRecord.name == unit_name)).first()
                if unit is None:
                    raise KeyError(f"unknown unit: {unit_name}")
                unit_id = unit.id
            row = ContactRecord(unit_id=unit_id, name=name, wecom_user=wecom_user, phone=phone, is_office=is_office)
            s.add(row)
            s.flush()
            addresses = sorted({e.strip().lower() for e in emails if e.strip()})
            for address in addresses:
                s.exec(delete(ContactAddress).where(ContactAddress.address == address))
                s.add(ContactAddress(contact_id=row.id, address=address))
            self._audit_row(s, actor, "contact.added", unit_name, {"name": name, "emails": addresses})
            return self._contact_view(row, unit_name, addresses)

    @staticmethod
    def _contact_view(row: ContactRecord, unit_name: str | None, emails: list[str]) -> ContactView:
        return ContactView(
            id=row.id or 0,
            unit_name=unit_name,
            name=row.name,
            emails=emails,
            wecom_user=row.wecom_user,
            phone=row.phone,
            is_office=row.is_office,
            from_config=row.from_config,
        )

    def contacts(self, unit_name: str | None = None) -> list[ContactView]:
        with self._read_session() as s:
            query = select(ContactRecord, UnitRecord.name).outerjoin(UnitRecord, UnitRecord.id == ContactRecord.unit_id)
            if unit_name is not None:
                query = query.where(UnitRecord.name == unit_name)
            rows = s.exec(query.order_by(ContactRecord.id)).all()
            addresses: dict[int, list[str]] = {}
            for a in s.exec(select(ContactAddress).order_by(ContactAddress.address)).all():
                addresses.setdefault(a.contact_id, []).append(a.address)
            return [self._contact_view(c, u, addresses.get(c.id or 0, [])) for c, u in rows]

    def unit_of_address(self, address: str) -> str | None:
        """The unit of a registered sender address (case-insensitive); None for unknown or office."""
        _, addr = parseaddr(address)
        with self._read_session() as s:
            return s.exec(
                select(UnitRecord.name)
                .join(ContactRecord, ContactRecord.unit_id == UnitRecord.id)
                .join(ContactAddress, ContactAddress.contact_id == ContactRecord.id)
                .where(ContactAddress.address == (addr or address).strip().lower())
            ).first()

    def unit_of_wecom_user(self, user_id: str) -> str | None:
        with self._read_session() as s:
            return s.exec(
                select(UnitRecord.name)
                .join(ContactRecord, ContactRecord.unit_id == UnitRecord.id)
                .where(ContactRecord.wecom_user == user_id)
            ).first()

    def is_office(self, *, address: str | None = None, wecom_user: str | None = None) -> bool:
        with self._read_session() as s:
            query = select(ContactRecord.id).where(ContactRecord.is_office)
            if address is not None:
                _, addr = parseaddr(address)
                query = query.join(ContactAddress, ContactAddress.contact_id == ContactRecord.id).where(
                    ContactAddress.address == (addr or address).strip().lower()
                )
            elif wecom_user is not None:
                query = query.where(ContactRecord.wecom_user == wecom_user)
            else:
                return False
            return s.exec(query).first() is not None

    # ---- office users (dashboard logins) -------------------------------------------------

    def add_user(self, username: str, password: str, display_name: str = "", *, actor: str = "office") -> OfficeUser:
        """A new office user, or a new password and name for an existing one (the hash only is stored)."""
        username = username.strip().lower()
        if not username or not password:
            raise ValueError("username and password must not be empty")
        password_hash = hash_password(password)
        with self._session() as s:
            row = s.exec(select(OfficeUser).where(OfficeUser.username == username)).first()
            action = "user.updated" if row else "user.added"
            row = row or OfficeUser(username=username, password_hash=password_hash)
            row.password_hash = password_hash
            row.display_name = display_name or row.display_name or username
            row.active = True
            s.add(row)
            self._audit_row(s, actor, action, None, {"username": username})
            return row

    def get_user(self, username: str) -> OfficeUser | None:
        with self._session() as s:
            return s.exec(select(OfficeUser).where(OfficeUser.username == username.strip().lower())).first()

    def verify_user(self, username: str, password: str) -> OfficeUser | None:
        """The active user when the password is right (last login recorded), else None."""
        row = self.get_user(username)
        ok = verify_password(password, row.password_hash if row else dummy_hash())
        if row is None or not ok or not row.active:
            return None
        with self._session() as s:
            fresh = s.get(OfficeUser, row.id)
            assert fresh is not None
            fresh.last_login = utcnow()
            s.add(fresh)
            return fresh
