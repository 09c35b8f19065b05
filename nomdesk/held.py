"""A mail whose From is a unit's registered contact but whose sender failed authentication.

Anyone can write a contact's address on a From line; such a mail would replace the unit's forms
and roster (issue 13). So the desk judges every mail's sender once (intake.authentication, stored
as summary["auth"]) and a mail from a registered address that failed it does not join the unit:
it is held in the 待确认 queue with the reason (storage: `held_unit`, `held_reason`) until the
office confirms it (`assign`) or rejects it. The sender gets no answer (it may be the forger);
the unit's registered contacts are told a mail in her name waits (at most one letter a unit a day,
within their hourly limit), the office is told why and how to decide. An unknown sender whose
mail failed gets no answer either (no backscatter to a forged address); the office still hears.

A unit whose mail domain signs nothing can be set `sender_auth = "lenient"` in the campaign TOML:
its mails are never held. Only mail is judged (IMAP, the drop folder, `nomdesk ingest`): WeCom
files come from an account WeCom authenticated, the office's records from the office.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from pathlib import Path

from config.campaign import Campaign
from config.masking import mask_text
from config.settings import Settings
from intake.authentication import AuthVerdict, SenderAuthenticator, TxtLookup, dnspython_lookup, no_dns
from notify.letters import compose_mail_in_your_name
from notify.replies import SENDER_UNAUTHENTICATED, Replies  # an unknown sender's failed mail
from storage.models import HELD_PREFIX
from storage.repo import Store
from storage.submissions import sender_address
from storage.tables import RawMessageRecord, SubmissionRecord

log = logging.getLogger(__name__)

MAIL_SOURCES = frozenset({"imap", "maildir", "cli"})  # what a From line claims; WeCom and the office are known
CONTACT_KEY = "held-contact:{}:{}"  # the letter to a unit's contacts (unit, local day): one a day at most
OFFICE_KEY = "office-held:{}"  # the office's notice of one held mail (raw id)
LENIENT = "lenient"


def sender_authenticator(settings: Settings, dns: TxtLookup | None = None) -> SenderAuthenticator:
    """The desk's authenticator: `dns` (tests pass a dict-backed lookup), else dnspython with the
    configured timeout, else none at all when `NOMDESK_SENDER_AUTH_DNS=false`. Answers are cached."""
    if dns is None:
        dns = dnspython_lookup(settings.dns_timeout_seconds) if settings.sender_auth_dns else no_dns
    return SenderAuthenticator(
        dns, trusted_authserv_id=settings.trusted_authserv_id, dns_timeout=settings.dns_timeout_seconds
    )


def verdict_of(row: SubmissionRecord) -> AuthVerdict | None:
    data = (row.summary or {}).get("auth")
    return AuthVerdict.model_validate(data) if data else None


class SenderHolds:
    """Judging a mail's sender, holding it, and telling about it."""

    def __init__(
        self,
        settings: Settings,
        campaign: Campaign,
        store: Store,
        replies: Replies,
        clock: Callable[[], dt.datetime],
        dns: TxtLookup | None = None,
    ) -> None:
        self.campaign, self.store, self.replies, self.clock = campaign, store, replies, clock
        self.authenticator = sender_authenticator(settings, dns)

    def verdict(self, record: RawMessageRecord, path: Path) -> AuthVerdict | None:
        """The sender's verdict for a mail (None for a WeCom file or an office record)."""
        if record.source not in MAIL_SOURCES:
            return None
        return self.authenticator.verdict(path)

    def holds(self, unit: str, verdict: AuthVerdict | None) -> bool:
        """Whether a mail from `unit`'s registered contact with this verdict is held."""
        if verdict is None or not verdict.failed:
            return False
        config_unit = self.campaign.unit_by_exact_name(unit)
        return config_unit is None or config_unit.sender_auth != LENIENT

    @staticmethod
    def unknown_suppression(row: SubmissionRecord, suppression: str | None) -> str | None:
        """An unknown sender's reply is suppressed when her mail failed authentication."""
        verdict = verdict_of(row)
        if suppression is None and verdict is not None and verdict.failed:
            return SENDER_UNAUTHENTICATED
        return suppression

    def answers_quarantined(self, record: RawMessageRecord) -> bool:
        """Whether the sender of a quarantined mail may be told it waits for a person. Not when the
        mail is held (her address was on it, maybe not her hand), nor when an unknown sender's mail
        failed: that acknowledgement would be backscatter, as an answer to it would be. A mail that
        broke before its sender was judged is judged here; one that cannot be judged is not answered
        (the office is told either way)."""
        row = self.store.submissions.for_raw(record.id or 0)
        if row is not None and row.held_unit is not None:
            return False
        verdict = verdict_of(row) if row is not None else None
        if verdict is None:
            try:
                verdict = self.verdict(record, self.store.raw.path(record))
            except Exception:
                log.exception("could not judge the sender of quarantined raw message %s", record.id)
                return False
        if verdict is None or not verdict.failed:
            return True
        if row is not None:
            unit = row.unit_name
        else:
            unit = self.store.directory.unit_of_address(record.sender) if record.sender else None
        return unit is not None and not self.holds(unit, verdict)

    @staticmethod
    def unknown_note(row: SubmissionRecord) -> str | None:
        """The line the office's proposal adds for an unknown sender whose mail failed."""
        verdict = verdict_of(row)
        if verdict is None or not verdict.failed:
            return None
        return f"注意：{verdict.reason_zh}，可能是冒用的地址，系统未回复发件人。"

    def tell(self, record: RawMessageRecord, row: SubmissionRecord) -> None:
        """The office's notice and the unit's contacts' letter about a held mail (once each: keyed)."""
        unit = row.held_unit or ""
        address = sender_address(row, record.sender)
        reason = row.held_reason or ""
        files = len(self.store.submissions.files(row.id or 0))
        text = (
            f"来件 #{record.id}（主题：{mask_text(record.subject or '') or '（无）'}，附件 {files} 个文件）"
            f"的发件人 {address} "
            f"是 {unit} 的登记联系人，但{HELD_PREFIX}{reason}。\n"
            f"为防他人冒用该地址改动 {unit} 的材料，这封邮件没有并入该单位，已放入工作台“待确认”；"
            f"发件人没有收到回复，{unit} 的登记联系人已收到提醒。\n"
            f"核实确为该单位发出：`nomdesk assign {row.id} {unit}`（或在“待确认”页归入该单位），"
            f"邮件即并入该单位材料并回复回执；不是：`nomdesk reject {row.id}`。\n"
        )
        subject = f"【待确认】{HELD_PREFIX}{address}（{unit}）"
        self.replies.tell_office(OFFICE_KEY.format(record.id), subject, text, record.id)
        emails = sorted({e for c in self.store.contacts.list(unit, office=False) for e in c.emails})
        if not emails:
            return
        now = self.clock()
        local = record.received_at.astimezone(self.campaign.tz)
        letter = compose_mail_in_your_name(
            self.campaign, address=address, when=local.strftime("%Y年%m月%d日 %H:%M"), now=now
        )
        self.replies.queue(
            CONTACT_KEY.format(unit, now.astimezone(self.campaign.tz).date().isoformat()),
            channel="mail",
            recipients=emails,
            subject=letter.subject,
            text=letter.text,
            html=letter.html,
            unit=unit,
            raw_message_id=record.id,
            not_before=self.replies.rate_slot(emails) or now,
        )
        log.info("raw message %s held: %s", record.id, reason)
