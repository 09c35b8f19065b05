"""Unit page links: a signed token per unit contact that opens that unit's page, and nothing else.

A token is `itsdangerous`' URL-safe signed JSON of [contact id, unit id, generation, expiry]: the
library does the HMAC and the constant-time check, so nothing here hand-rolls either. The key lives
outside the database (NOMDESK_LINK_KEY, else DIR/link.key, 0600), like the ID-hash key, so a copy
of the database cannot mint links. The salt carries the campaign key, so a link of one campaign
opens nothing in another sharing the data directory.

What the token says is checked against the store on every use: the generation kept here per contact
(revoking bumps it, so every link given out before is refused), the contact still live and still of
the unit the token names (removed or moved: refused), and the expiry.
"""

from __future__ import annotations

import datetime as dt
import hmac
import threading
from pathlib import Path
from typing import ClassVar

from itsdangerous import BadData, URLSafeSerializer
from pydantic import BaseModel
from sqlmodel import Session

from config.campaign import Campaign
from storage import keys
from storage.base import Database, Repo
from storage.tables import ContactRecord, UnitLinkRecord, UnitRecord, utcnow

LINK_KEY_ENV = "NOMDESK_LINK_KEY"
LINK_KEY_FILE = "link.key"
LINK_PREFIX = "/u/"


class LinkClaim(BaseModel):
    """What a valid link proves: who opened it and which unit's page it opens."""

    contact_id: int
    unit: str  # the unit's name as storage knows it
    contact_name: str
    generation: int
    expires_at: dt.datetime  # aware UTC


class LinkRefused(Exception):
    """A link that opens nothing; `reason` is one of EXPIRED, REVOKED, TAMPERED, UNKNOWN; str(exc)
    is the Chinese sentence the page shows (it names no unit: the visitor may not be its contact)."""

    EXPIRED = "expired"
    REVOKED = "revoked"
    TAMPERED = "tampered"
    UNKNOWN = "unknown"

    MESSAGES: ClassVar[dict[str, str]] = {
        EXPIRED: "链接已过期（已超过报送截止日期后的补交期限），请联系省教育厅办公室重新获取。",
        REVOKED: "链接已失效（已被收回或已重新发放），请使用最新收到的链接，或联系省教育厅办公室重新获取。",
        TAMPERED: "链接不完整或有误，请从收到的消息中完整复制链接后再打开。",
        UNKNOWN: "链接无效，请联系省教育厅办公室重新获取。",
    }

    def __init__(self, reason: str) -> None:
        super().__init__(self.MESSAGES[reason])
        self.reason = reason


def link_expiry(campaign: Campaign) -> dt.datetime:
    """Links work through the late-delivery catch-up days: a unit may still fix what it sent late."""
    end = campaign.deadline_end + dt.timedelta(days=campaign.reminders.catch_up_days)
    return end.astimezone(dt.UTC)


def link_path(token: str) -> str:
    """The page's path; a full URL is the desk's public URL + this."""
    return LINK_PREFIX + token


class UnitLinkRepo(Repo):
    def __init__(self, db: Database, data_dir: Path, campaign_key: str = "") -> None:
        super().__init__(db)
        self._data_dir = Path(data_dir)
        self._salt = "nomdesk.unit-link:" + campaign_key
        self._serializer: URLSafeSerializer | None = None
        self._key_lock = threading.Lock()

    def _signer(self) -> URLSafeSerializer:
        """Loaded at first use: a store that never gives out a link never makes a key file."""
        with self._key_lock:
            if self._serializer is None:
                key = keys.load_or_create_key(self._data_dir, LINK_KEY_ENV, LINK_KEY_FILE)
                self._serializer = URLSafeSerializer(key, salt=self._salt)
            return self._serializer

    # ---- giving out ----------------------------------------------------------------------------

    def token_for(self, contact_id: int, expires_at: dt.datetime) -> str:
        """A link token of the contact's current generation; ValueError for a contact of the office,
        one without a unit, or one that is no more."""
        if expires_at.tzinfo is None:
            raise ValueError("naive expiry given to a unit link; pass an aware datetime")
        with self._read_session() as s:
            contact = s.get(ContactRecord, contact_id)
            if contact is None or contact.removed_at is not None:
                raise ValueError(f"联系人 {contact_id} 不存在或已删除，不能发放材料页面链接")
            if contact.is_office or contact.unit_id is None:
                raise ValueError(f"联系人 {contact_id} 不属于任何报送单位，不能发放材料页面链接")
            generation = _generation(s, contact_id)
            unit_id = contact.unit_id
        expiry = int(expires_at.astimezone(dt.UTC).timestamp())
        token = self._signer().dumps([contact_id, unit_id, generation, expiry])
        return token if isinstance(token, str) else token.decode()

    def revoke(self, contact_id: int, *, actor: str = "office") -> None:
        """Every link given out to this contact so far is refused from now on."""

        def attempt() -> None:
            with self._session() as s:
                contact = s.get(ContactRecord, contact_id)
                if contact is None:
                    raise KeyError(f"no contact {contact_id}")
                row = s.get(UnitLinkRecord, contact_id)
                if row is None:
                    row = UnitLinkRecord(contact_id=contact_id, generation=0)
                row.generation += 1
                row.changed_by = actor
                row.changed_at = utcnow()
                s.add(row)
                unit = s.get(UnitRecord, contact.unit_id) if contact.unit_id is not None else None
                detail = {"contact_id": contact_id, "generation": row.generation}
                self._audit_row(s, actor, "unit_link.revoked", unit.name if unit else None, detail)

        self._retry_unique(attempt)  # two desks revoking the first time race on the primary key

    def reissue(self, contact_id: int, expires_at: dt.datetime, *, actor: str = "office") -> str:
        """Revoke the links given out and hand out a new one."""
        self.revoke(contact_id, actor=actor)
        return self.token_for(contact_id, expires_at)

    # ---- checking ------------------------------------------------------------------------------

    def verify(self, token: str, now: dt.datetime) -> LinkClaim:
        """The claim a token proves now; LinkRefused otherwise. A revoked link is refused as revoked
        even after it expired: the office's act is what the visitor should hear about."""
        signer = self._signer()
        try:
            payload = signer.loads(token)
        except BadData:
            raise LinkRefused(LinkRefused.TAMPERED) from None
        # base64's last character carries spare bits the decoder ignores, so a changed last
        # character can still verify; only the exact token we would mint is accepted.
        if not hmac.compare_digest(signer.dumps(payload), token):
            raise LinkRefused(LinkRefused.TAMPERED)
        try:
            contact_id, unit_id, generation, expiry = (int(v) for v in payload)
        except (TypeError, ValueError):
            raise LinkRefused(LinkRefused.UNKNOWN) from None  # signed by us but not a link's shape
        with self._read_session() as s:
            contact = s.get(ContactRecord, contact_id)
            if contact is None or contact.is_office:
                raise LinkRefused(LinkRefused.UNKNOWN)
            if contact.removed_at is not None or contact.unit_id != unit_id:
                raise LinkRefused(LinkRefused.REVOKED)  # removed from the unit, or moved to another
            if generation != _generation(s, contact_id):
                raise LinkRefused(LinkRefused.REVOKED)
            unit = s.get(UnitRecord, unit_id)
            if unit is None:
                raise LinkRefused(LinkRefused.UNKNOWN)
            expires_at = dt.datetime.fromtimestamp(expiry, dt.UTC)
            if now >= expires_at:
                raise LinkRefused(LinkRefused.EXPIRED)
            return LinkClaim(
                contact_id=contact_id,
                unit=unit.name,
                contact_name=contact.name,
                generation=generation,
                expires_at=expires_at,
            )


def _generation(s: Session, contact_id: int) -> int:
    row = s.get(UnitLinkRecord, contact_id)
    return row.generation if row is not None else 0
