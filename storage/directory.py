"""The directory: the units, who a sender or a WeCom user is (which unit, or the office), and the
office users who log in to the dashboard. The contacts themselves are kept by storage.contacts.
"""

from __future__ import annotations

from email.utils import parseaddr

from sqlmodel import select

from config.campaign import Campaign
from storage.base import Database, Repo
from storage.contacts import ContactRepo
from storage.overview import OverviewRepo
from storage.passwords import dummy_hash, hash_password, verify_password
from storage.tables import ContactAddress, ContactRecord, OfficeUser, UnitRecord, utcnow


class DirectoryRepo(Repo):
    def __init__(self, db: Database, overview: OverviewRepo, contacts: ContactRepo) -> None:
        super().__init__(db)
        self._overview = overview
        self._contacts = contacts

    def sync_units(self, campaign: Campaign) -> None:
        """Load units from the config (units gone from it are marked inactive), then seed contacts
        from it (storage.contacts: the TOML is the seed, the office's changes win)."""
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
            self._audit_row(s, "system", "units.synced", None, {"units": len(campaign.units)})
        self._contacts.seed(campaign)

    def units(self, *, active_only: bool = True) -> list[UnitRecord]:
        with self._session() as s:
            query = select(UnitRecord).order_by(UnitRecord.position, UnitRecord.name)
            if active_only:
                query = query.where(UnitRecord.active)
            return list(s.exec(query).all())

    def unit_of_address(self, address: str) -> str | None:
        """The unit of a registered sender address (case-insensitive); None for unknown or office."""
        _, addr = parseaddr(address)
        with self._read_session() as s:
            return s.exec(
                select(UnitRecord.name)
                .join(ContactRecord, ContactRecord.unit_id == UnitRecord.id)
                .join(ContactAddress, ContactAddress.contact_id == ContactRecord.id)
                .where(ContactAddress.address == (addr or address).strip().lower(), UnitRecord.active)
            ).first()

    def unit_of_wecom_user(self, user_id: str) -> str | None:
        with self._read_session() as s:
            return s.exec(
                select(UnitRecord.name)
                .join(ContactRecord, ContactRecord.unit_id == UnitRecord.id)
                .where(ContactRecord.wecom_user == user_id, ContactRecord.removed_at.is_(None), UnitRecord.active)  # type: ignore[union-attr]
            ).first()

    def is_office(self, *, address: str | None = None, wecom_user: str | None = None) -> bool:
        with self._read_session() as s:
            query = select(ContactRecord.id).where(ContactRecord.is_office, ContactRecord.removed_at.is_(None))  # type: ignore[union-attr]
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
