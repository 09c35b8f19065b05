"""Reply policy: who is answered, when, with what, and how often.

Every answer to a unit is a receipt (notify.compose): of every submission since the unit's
last reply that went or is due, compared with that reply's findings. A reply goes to the
sender's From only (never Reply-To), robots are never answered, one address gets at most
`reply_rate_per_hour` replies an hour and a reply over that waits (a newer one supersedes
it, since each describes the whole dossier). Files sent in WeCom are answered in WeCom
after the contact stops sending, and by mail to the unit's registered contacts. A submission
the office voided is named once per channel: in the next mail receipt and in the next WeCom answer.

`Notices` is what every notice goes through, the scheduler's reminders and digests too: a mail
row carries its .eml (the outbox sends mail rows from it only), written from the desk's address
with a Message-ID of the desk's domain. `Replies` adds the policy of answering units.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from config.campaign import Campaign
from config.settings import Settings
from intake.headers import header_value, mailbox
from notify.autoreply import autoreply_by_content, deliverable, reply_suppression
from notify.compose import Reply, VoidedNote, compose_receipt, receipt_text
from notify.mail import build_reply, desk_message_id_domain, notice_mail
from storage.raw import wecom_user_of
from storage.repo import Store
from storage.tables import OutboxRecord, RawMessageRecord
from storage.unit_link_urls import LINK_LINE_ZH, contact_link, unit_contact
from validators.base import Finding
from validators.checklist import compare_findings
from validators.result import CheckResult

WECOM_RECEIPT_FILES = 10  # a WeCom answer lists the files received up to this many, else counts them
Clock = Callable[[], dt.datetime]
# The unit's state and what is missing, as the WeCom bot words them, for the check result just made:
# a WeCom file is answered as the bot answers "状态" and "缺什么" (the desk passes the bot's wording in).
WeComState = Callable[[str, CheckResult], str]
# The unit's receipts by channel (channel -> the outbox key prefix of its rows), for `last_receipt`.
MAIL_RECEIPTS = {"mail": "reply"}
WECOM_RECEIPTS = {"wecom": "wecom-reply"}


# Reply suppressions (notify.autoreply) that mean a machine wrote the mail, not a person.
ROBOTS = frozenset(
    {
        "own_message",
        "delivery_status_report",
        "machine_report",
        "mailer_daemon",
        "auto_submitted",
        "null_return_path",
        "autoreply_subject",  # a vacation reply without Auto-Submitted, known by its subject
        "autoreply_content",  # ... or by its words ("我现在休假")
    }
)
# Not answered, but the mail is a sender's all the same (kept, in the 待确认 queue when she is
# unknown): an unknown sender already answered within 24 hours; a mail failing SPF/DMARC, whose
# From may be forged (an answer would be backscatter to whoever owns that address).
UNKNOWN_DAILY = "unknown_daily"
SENDER_UNAUTHENTICATED = "sender_unauthenticated"


class Notices:
    """Notices into the outbox, once per key: to the office, to units, on any channel."""

    def __init__(self, store: Store, campaign: Campaign, *, clock: Clock, mail_from: str) -> None:
        self.store = store
        self.campaign = campaign
        self.clock = clock
        self.mail_from = mail_from
        self.own_domain = desk_message_id_domain(mail_from)  # of the Message-IDs the desk writes

    def queue(
        self,
        key: str,
        *,
        channel: str,
        recipients: list[str],
        subject: str | None,
        text: str,
        html: str | None = None,
        attachments: list[tuple[str, bytes, str]] | None = None,
        unit: str | None = None,
        raw_message_id: int | None = None,
        not_before: dt.datetime,
    ) -> tuple[OutboxRecord, bool]:
        """(the row, whether this call created it); a mail is built as a notice (no thread to join)."""
        eml = None
        if channel == "mail":
            eml = notice_mail(
                from_addr=self.mail_from,
                to=recipients,
                subject=subject or "",
                text=text,
                html=html,
                domain=self.own_domain,
                attachments=attachments,
                date=self.clock(),
            )
        return self.store.outbox.enqueue(
            key,
            channel=channel,
            recipients=recipients,
            subject=subject,
            body_text=text,
            body_html=html if channel == "mail" else None,
            eml=eml,
            raw_message_id=raw_message_id,
            unit_name=unit,
            not_before=not_before,
        )

    def tell_office(self, key: str, subject: str, text: str, raw_id: int) -> None:
        """Queue a notice to the office's mailbox about one raw message (once per key)."""
        office = [self.campaign.office.email]
        self.queue(
            key,
            channel="mail",
            recipients=office,
            subject=subject,
            text=text,
            raw_message_id=raw_id,
            not_before=self.clock(),
        )


class Replies(Notices):
    """The desk's answers to units: receipts and acknowledgements into the outbox."""

    def __init__(
        self,
        settings: Settings,
        campaign: Campaign,
        store: Store,
        *,
        clock: Clock,
        mail_from: str,
        wecom_state: WeComState,
    ) -> None:
        super().__init__(store, campaign, clock=clock, mail_from=mail_from)
        self.settings = settings
        self.wecom_state = wecom_state
        self.own_addresses = {mail_from.lower(), campaign.office.email.lower()}

    def suppression(self, headers, raw_path: Path | None = None) -> str | None:
        """Why the mail is not answered (None: it is). With the stored mail's `raw_path`, a mail
        whose headers let it through is also read for an autoresponder's words
        (`autoreply_by_content`), so a vacation reply never becomes a submission."""
        reason = reply_suppression(headers, own_addresses=self.own_addresses, own_msgid_domains={self.own_domain})
        if reason not in ROBOTS and raw_path is not None and autoreply_by_content(raw_path):
            return "autoreply_content"
        return reason

    @staticmethod
    def from_a_robot(suppression: str | None) -> bool:
        """An auto-reply, a bounce or our own message looping back: kept, but no submission and no answer.
        (A list or a bulk mail is still a unit's submission; it is only not answered.)"""
        return suppression in ROBOTS

    @staticmethod
    def acknowledges_quarantine(record: RawMessageRecord) -> bool:
        """Whether the sender of a quarantined message is told it is safe: mail only (WeCom files and
        the office's own records are answered in their own channel)."""
        return record.source in ("imap", "maildir", "cli")

    def _recipients(self, record: RawMessageRecord, headers) -> list[str]:
        """The sender's From address only. Reply-To is not honoured: anyone could set it and have a
        unit's whole dossier (names, phones) mailed to an outside address."""
        for sender in (header_value(headers, "from"), record.sender):  # the envelope's, when From has none
            address = mailbox(sender)[1].lower()
            if deliverable(address):
                return [address]
        return []

    def _unknown_over_daily(self, recipient: str, headers) -> bool:
        """Whether an address that is no unit's contact already got its reply within the last 24 hours
        (`unknown_sender_replies_per_day`): anyone can put any address in From, and each reply to an
        unknown sender is one to a stranger (backscatter), so she gets one a day; her mails are kept.

        A mail that answers a letter the desk sent her (its In-Reply-To or References names that
        letter's Message-ID, which only its reader knows) is her side of a conversation: she says who
        she is, and hears that the office will confirm it."""
        if self.store.directory.unit_of_address(recipient) is not None:
            return False
        now = self.clock()
        since = now - dt.timedelta(hours=24)
        sent = self.store.outbox.reply_times(recipient, since, now=now)
        if len(sent) < self.settings.unknown_sender_replies_per_day:
            return False
        answered = f"{header_value(headers, 'in-reply-to') or ''} {header_value(headers, 'references') or ''}".split()
        return not (set(answered) & self.store.outbox.message_ids_to(recipient, since))

    def _rate_slot(self, recipient: str, unit: str | None = None) -> dt.datetime | None:
        """None when a reply may go now; else the first moment the sliding hour has room for it.

        A reply over the limit is held back, never dropped: clerks send big packages one
        attachment per mail, and the last reply is the one that tells them where they stand.
        A reply about `unit` still held back does not count: the new one supersedes it."""
        per_hour = self.settings.reply_rate_per_hour
        now = self.clock()
        times = self.store.outbox.reply_times(recipient, now - dt.timedelta(hours=1), superseded_for=unit, now=now)
        if len(times) < per_hour:
            return None
        return max(now, times[-per_hour] + dt.timedelta(hours=1))

    def rate_slot(self, recipients: list[str]) -> dt.datetime | None:
        """For a notice of the office's own (a bulk message): None when a mail to all of `recipients`
        may go now, else when the busiest address's sliding hour has room (held back, never dropped)."""
        return max((s for s in (self._rate_slot(r) for r in recipients) if s is not None), default=None)

    def _queue_mail(
        self,
        key: str,
        record: RawMessageRecord,
        reply: Reply,
        recipients: list[str],
        unit: str | None,
        *,
        not_before: dt.datetime,
        evaluation_version: int | None,
        in_reply_to: str | None = None,
        references: list[str] | None = None,
        suppressed: str | None = None,
    ):
        """One reply mail into the outbox (once per key): the outbox sends mail rows from their .eml.
        `suppressed`: the reason it must not go; the row is made suppressed in the same transaction."""
        msg = build_reply(
            from_addr=self.mail_from,
            to=recipients or [self.mail_from],
            subject=reply.subject,
            text=reply.text,
            html=reply.html,
            in_reply_to=in_reply_to,
            references=references or [],
            message_id_domain=self.own_domain,
            date=self.clock(),
        )
        return self.store.outbox.enqueue(
            key,
            channel="mail",
            recipients=recipients,
            subject=reply.subject,
            body_text=reply.text,
            body_html=reply.html,
            eml=msg.as_bytes(),
            raw_message_id=record.id,
            unit_name=unit,
            not_before=not_before,
            evaluation_version=evaluation_version,
            suppressed=suppressed,
        )

    def enqueue(
        self,
        key: str,
        record: RawMessageRecord,
        headers,
        reply: Reply,
        unit: str | None,
        suppression: str | None,
        *,
        evaluation_version: int | None = None,
    ) -> None:
        if self.store.outbox.by_key(key) is not None:
            return
        recipients = self._recipients(record, headers)
        reason = suppression or (None if recipients else "no_sender")
        if reason is None and unit is None and self._unknown_over_daily(recipients[0], headers):
            reason = UNKNOWN_DAILY
        not_before = self._rate_slot(recipients[0], unit) if reason is None else None
        # Read whatever they hold; build_reply keeps only well-formed message ids of them.
        references = (header_value(headers, "references") or "").split()
        message_id = (header_value(headers, "message-id") or "").strip() or None
        if message_id:
            references.append(message_id)
        row, created = self._queue_mail(
            key,
            record,
            reply,
            recipients,
            unit,
            not_before=not_before or self.clock(),
            evaluation_version=evaluation_version,
            in_reply_to=message_id,
            references=references,
            suppressed=reason,  # one transaction: a crash can never leave it sendable
        )
        if created and not reason and unit is not None:
            if not_before is not None:
                self.store.audit.record(
                    "notify", "outbox.rate_delayed", unit, outbox_id=row.id, until=not_before.isoformat()
                )
            # Every reply describes the whole dossier: one held back as well is now out of date.
            self.store.outbox.supersede_pending_replies(unit, recipients[0], keep_id=row.id, waiting_after=self.clock())

    def _receipt_scope(
        self,
        unit: str,
        result: CheckResult,
        record: RawMessageRecord,
        *,
        wecom: bool = False,
    ) -> tuple[list[int], list[Finding] | None]:
        """What a receipt for `record` reports: the dossier's submissions since the unit's last reply
        (a reply held back by the rate limit is superseded, so the next one covers what it would
        have), this one included; and that reply's findings for "与上次相比" (None: none). A mail
        receipt counts from the last mail receipt (the mail reader sees every file once); the WeCom
        answer from the last answer or mail, whichever was later."""
        everything = [meta.index for meta in result.dossier.submissions]
        current = result.raw_index.get(record.id)
        this = [current] if current is not None else everything[-1:]
        kinds = {**MAIL_RECEIPTS, **WECOM_RECEIPTS} if wecom else MAIL_RECEIPTS
        last = self.store.outbox.last_receipt(unit, now=self.clock(), kinds=kinds)
        if last is None:
            return everything, None  # the unit's first reply: everything it sent so far
        if last.evaluation_version is None:
            return this, None  # a reply from before receipts were kept
        snapshot = self.store.evaluations.dossier_version(unit, last.evaluation_version)
        previous = self.store.evaluations.findings_of(unit, last.evaluation_version)
        if snapshot is None or snapshot.raw_ids is None:
            return this, previous
        reported = set(snapshot.raw_ids)
        covers = {index for raw_id, index in result.raw_index.items() if raw_id not in reported} | set(this)
        return sorted(covers), previous

    def voided_since_last_receipt(self, unit: str, kinds: dict[str, str]) -> list[VoidedNote]:
        """The unit's submissions the office voided after the evaluation its last receipt of `kinds`
        described, every one before its first: a void made while that receipt was being written is
        not lost.

        Each void is told once per channel (`kinds` is one channel's): once in the mail receipts
        (MAIL_RECEIPTS), once in the WeCom answers (WECOM_RECEIPTS). The mailbox and the WeCom chat
        are read by different people (the registered address, the contact's phone), and a dossier
        that shrank must be explained to each: a WeCom answer does not silence the next mail
        receipt, nor a mail receipt the next WeCom answer. A WeCom file is answered in both (the
        mail to the contacts names the void too); neither channel repeats it after that."""
        last = self.store.outbox.last_receipt(unit, now=self.clock(), kinds=kinds)
        since = None
        if last is not None:
            version = last.evaluation_version
            snapshot = self.store.evaluations.dossier_version(unit, version) if version is not None else None
            since = snapshot.created_at if snapshot is not None else last.created_at
        notes = []
        for row in self.store.submissions.voided_of(unit, since=since):
            raw = self.store.raw.get(row.raw_message_id)
            notes.append(
                VoidedNote(
                    ref=self.campaign.submission_ref(unit, row.unit_index or 0),
                    arrived_at=row.arrived_at,
                    subject=(raw.subject if raw else None) or "",
                    reason=row.void_reason or "",
                )
            )
        return notes

    def page_link(self, unit: str, *, address: str | None = None, wecom_user: str | None = None) -> str | None:
        """The unit page URL of the unit's registered contact behind `address` (or `wecom_user`);
        None for anyone else, or when no public URL is configured (storage.unit_link_urls)."""
        if not unit or not self.settings.public_url:
            return None
        contact = unit_contact(self.store, unit, address=address, wecom_user=wecom_user)
        if contact is None:
            return None
        return contact_link(self.store, self.campaign, self.settings.public_url, contact.id, now=self.clock())

    def contacts_link(self, unit: str, record: RawMessageRecord) -> str | None:
        """The one link a receipt mailed to all the unit's contacts carries: the WeCom sender's own
        when she sent the files, else the first registered contact's (oldest) that has an address.

        One mail, not one per contact, on purpose: the receipt is one outbox row per event, which
        the hourly limit, the supersession of a held-back receipt and "told once per channel" all
        count on; every recipient is that unit's registered contact, so the link opens only the
        page all of them may see. Each contact's own link comes in her replies to her own mails and
        in the bot's "我的材料"; what she does on a colleague's link is audited under that colleague."""
        if not unit or not self.settings.public_url:
            return None
        sender = wecom_user_of(record)
        if sender is not None:
            own = self.page_link(unit, wecom_user=sender)
            if own is not None:
                return own
        for contact in self.store.contacts.list(unit):
            if contact.emails and not contact.is_office:
                link = contact_link(self.store, self.campaign, self.settings.public_url, contact.id, now=self.clock())
                if link is not None:
                    return link
        return None

    def receipt(self, unit: str, result: CheckResult, record: RawMessageRecord, *, link: str | None = None) -> Reply:
        """`link`: the recipient's unit page URL (`page_link`, `contacts_link`), None: no link."""
        covers, previous = self._receipt_scope(unit, result, record)
        return compose_receipt(
            result.dossier,
            result.findings,
            self.campaign,
            now=self.clock(),
            covers=covers,
            previous=previous,
            incomplete=result.incomplete,  # a rule raised: "being checked by hand", never "材料齐全"
            voided=self.voided_since_last_receipt(unit, MAIL_RECEIPTS),
            link=link,
        )

    def answer(self, record, headers, result: CheckResult, suppression: str | None, *, key: str | None = None) -> None:
        """Answer what a unit sent with its receipt: a mail by mail (under `key`, `reply:<raw id>` by
        default), a WeCom file in WeCom and by mail to the unit's contacts."""
        unit = result.dossier.unit or ""
        wecom_user = wecom_user_of(record)
        if wecom_user is None:
            recipients = self._recipients(record, headers)
            link = self.page_link(unit, address=recipients[0]) if recipients else None
            reply = self.receipt(unit, result, record, link=link)
            self.enqueue(
                key or f"reply:{record.id}",
                record,
                headers,
                reply,
                unit,
                suppression,
                evaluation_version=result.version,
            )
            return
        # A file sent in WeCom: the answer goes back in WeCom, and by mail to the unit's contacts.
        # Both wait for the contact to finish sending (a newer file's answer supersedes a waiting
        # one), and the mail counts against the same hourly limit as any reply.
        now = self.clock()
        settled = now + dt.timedelta(seconds=self.settings.wecom_answer_settle_seconds)
        covers, previous = self._receipt_scope(unit, result, record, wecom=True)
        # Incomplete (a rule raised): its problems are not "已解决", so no comparison (as the mail receipt).
        comparison = (
            compare_findings(previous, result.findings) if previous is not None and not result.incomplete else None
        )
        voided = self.voided_since_last_receipt(unit, WECOM_RECEIPTS)
        head = receipt_text(
            result.dossier, covers, self.campaign, comparison, max_files=WECOM_RECEIPT_FILES, voided=voided
        )
        # The state first (a phone shows the first 2048 bytes as one message), what came at the end.
        refs = "、".join(m.ref for m in result.dossier.submissions if m.index in covers and m.ref)
        own = self.page_link(unit, wecom_user=wecom_user)  # hers: the chat is her own
        text = (
            f"文件已检查{f'（受理编号：{refs}）' if refs else ''}，当前材料情况：\n"
            + self.wecom_state(unit, result)  # the evaluation just made, not read back
            + (f"\n{LINK_LINE_ZH}{own}" if own else "")  # after the state, before the files
            + "\n\n"
            + head
        )
        row, created = self.store.outbox.enqueue(
            f"wecom-reply:{record.id}",
            channel="wecom",
            recipients=[wecom_user],
            body_text=text,
            raw_message_id=record.id,
            unit_name=unit,
            not_before=settled,
            evaluation_version=result.version,
        )
        if created:
            self.store.outbox.supersede_pending_replies(
                unit, wecom_user, keep_id=row.id, waiting_after=now, channel="wecom", key_prefix="wecom-reply"
            )
        self.mail_contacts(f"reply:{record.id}", record, result, not_before=settled)

    def mail_contacts(
        self, key: str, record: RawMessageRecord, result: CheckResult, *, not_before: dt.datetime
    ) -> None:
        """Mail the receipt to the unit's registered contacts (a WeCom file, a file the office attached:
        no mail to answer), no earlier than `not_before`, within the hourly limit of every address."""
        unit = result.dossier.unit or ""
        emails = sorted({e for c in self.store.contacts.list(unit) for e in c.emails})
        if not emails or self.store.outbox.by_key(key) is not None:
            return
        reply = self.receipt(unit, result, record, link=self.contacts_link(unit, record))
        slot = max((s for s in (self._rate_slot(e, unit) for e in emails) if s is not None), default=None)
        row, created = self._queue_mail(
            key,
            record,
            reply,
            emails,
            unit,
            not_before=max(not_before, slot or not_before),
            evaluation_version=result.version,
        )
        if created:
            if slot is not None and slot > not_before:
                self.store.audit.record("notify", "outbox.rate_delayed", unit, outbox_id=row.id, until=slot.isoformat())
            # Every receipt describes the whole dossier and what came since the last one that went:
            # one still held back is superseded by this one.
            self.store.outbox.supersede_pending_replies(unit, emails[0], keep_id=row.id, waiting_after=self.clock())
