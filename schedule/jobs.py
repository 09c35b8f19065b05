"""The jobs that send: reminders for the due slot, the after-deadline notice, the daily digest.

`Jobs.tick(now)` does everything due at `now` and may run any number of times, from any
number of processes: each (unit, slot, channel) is claimed once in storage
(`store.state.try_mark_reminder`) and queued once in the outbox through the desk's notices
(notify.replies.Notices; dedupe key `reminder:<unit>:<slot>:<channel>`), so a rerun, a restart
or a second desk sends nothing twice. A claim whose outbox row is missing (a crash between the
two) is queued again.
A unit the round targets but cannot reach (no address, no WeCom id) never holds up the others;
a pre-deadline round that met any ends with one office notice naming them (dedupe key
`unreachable:<office>:<slot>:<channel>`), so the office can phone them.
The after-deadline round, caught up on a later day when the desk was down on its own
(slots.due_slot), ends with the office's notice: once that is queued on every office
channel, the round is over and later ticks send nothing of it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from config.campaign import Campaign
from notify.replies import Notices
from schedule.digest import (
    APP_MARKDOWN_LIMIT,
    ROBOT_LIMIT,
    Digest,
    digest_filename,
    digest_markdown,
    digest_xlsx,
    office_digest,
)
from schedule.digest_changes import keep_snapshot
from schedule.reminders import (
    Message,
    compose_office_notice,
    compose_reminder,
    compose_unreachable_notice,
    incomplete_units,
    reminder_targets,
)
from schedule.slots import AFTER, Slot, digest_due, due_slot, reminder_plan
from schedule.status import EvaluationCache, UnitStatus, collect_status, shared_cache
from storage.models import WaitingMail
from storage.repo import Store
from storage.unit_link_urls import contact_link

log = logging.getLogger(__name__)

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# The office's notice ending a pre-deadline round that could not reach some units (its own dedupe
# keys: `unreachable:<office>:<slot>:<channel>`; the after-deadline round's notice is a "reminder").
UNREACHABLE_PREFIX = "unreachable"
MARKDOWN_CHANNEL = "wecom-markdown"  # the WeCom app's markdown message (the outbox's sender for it)


@dataclass(frozen=True)
class Queued:
    """One message this tick put in the outbox."""

    unit: str
    slot: str
    channel: str
    recipients: tuple[str, ...]
    dedupe_key: str
    text: str


@dataclass
class TickReport:
    now: dt.datetime
    queued: list[Queued] = field(default_factory=list)


class Jobs:
    def __init__(
        self,
        store: Store,
        campaign: Campaign,
        *,
        mail_from: str | None = None,
        webhook: bool = False,
        wecom: bool = True,
        clock: Callable[[], dt.datetime] | None = None,
        public_url: str | None = None,
    ) -> None:
        self.store = store
        self.public_url = public_url  # the desk's address as units reach it; None: no page link in reminders
        self.campaign = campaign
        self.mail_from = mail_from or campaign.office.email
        self.webhook = webhook  # the office group's robot is configured
        self.wecom = wecom  # the WeCom app's API is configured: without it a WeCom message could never leave
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.notices = Notices(store, campaign, clock=self.clock, mail_from=self.mail_from)
        self.plan = reminder_plan(campaign)
        self._cache: EvaluationCache = shared_cache(store)  # the dashboard's downloads read the same
        self._office_users: list[str] = []  # the office members' WeCom ids, read at each tick
        self._waiting: list[WaitingMail] | None = None  # the 待确认 queue as the last statuses() read it

    # -- the one entry point ------------------------------------------------------------------
    def tick(self, now: dt.datetime | None = None) -> TickReport:
        now = now or self.clock()
        report = TickReport(now)
        catch_up = dt.timedelta(days=self.campaign.reminders.catch_up_days)
        slot = due_slot(self.plan, now, self.campaign.deadline_end, catch_up)
        if slot is not None and slot.kind == AFTER and self._office_notified(slot):
            slot = None  # the final round is over (it stays due for a desk that missed its day)
        day = digest_due(self.campaign, now)
        if slot is None and day is None:
            return report
        statuses = self.statuses()
        if day is not None:
            report.queued += self.send_digest(statuses, now, day=day)
        if slot is not None:
            report.queued += self.send_reminders(slot, statuses, now)
        return report

    def statuses(self) -> list[UnitStatus]:
        """Where every unit stands now (and who of the office is on WeCom, how many mails wait for
        the office to name their unit: the queue is read once, for the units and the total)."""
        self._office_users = self._office_wecom_users()
        self._waiting = self.store.submissions.waiting_mails()
        return collect_status(self.store, self.campaign, cache=self._cache, waiting=self._waiting)

    def digest(self, statuses: list[UnitStatus], now: dt.datetime) -> Digest:
        """The digest of `statuses` as `statuses()` read them, with every waiting mail counted and
        what changed since the last digest sent before today."""
        return office_digest(self.store, self.campaign, statuses, now, self._waiting)

    def _office_wecom_users(self) -> list[str]:
        return sorted({c.wecom_user for c in self.store.contacts.list() if c.is_office and c.wecom_user})

    def _office_notified(self, slot: Slot) -> bool:
        self._office_users = self._office_wecom_users()
        office = self.campaign.office.name
        return all(self._done("reminder", office, slot.key, c) for c, _ in self._office_channels(markdown=False))

    # -- reminders ------------------------------------------------------------------------------
    def send_reminders(self, slot: Slot, statuses: list[UnitStatus], now: dt.datetime) -> list[Queued]:
        """The round's reminder to every unit it targets that has a contact, each channel once; the
        units without one are named to the office (a pre-deadline round only when there are any)."""
        queued: list[Queued] = []
        unreachable: list[UnitStatus] = []
        for status in reminder_targets(slot, statuses):
            wecom_users = status.wecom_users if self.wecom else []
            if not status.emails and not wecom_users:
                unreachable.append(status)
                self._note_unreachable(status.name, slot)
                continue
            try:
                queued += self._remind(slot, status, wecom_users, now)
            except Exception:  # one unit's failure must not cost the others their reminder
                log.exception("reminder %s for %s failed; the next tick tries again", slot.key, status.name)
        office = self.campaign.office.name
        if slot.kind == AFTER:
            if not self._office_notified(slot):
                # Every unit not complete, reminded or not: the office follows up on all of them.
                names = {s.name for s in unreachable}
                notice = compose_office_notice(slot, incomplete_units(statuses), names, self.campaign)
                for channel, recipients in self._office_channels(markdown=False):
                    queued += self._once(office, slot.key, channel, recipients, notice, now)
        elif unreachable:
            channels = self._office_channels(markdown=False)
            if not all(self._done(UNREACHABLE_PREFIX, office, slot.key, c) for c, _ in channels):
                notice = compose_unreachable_notice(slot, unreachable, self.campaign, now)
                for channel, recipients in channels:
                    queued += self._once(office, slot.key, channel, recipients, notice, now, prefix=UNREACHABLE_PREFIX)
        return queued

    def _remind(self, slot: Slot, status: UnitStatus, wecom_users: list[str], now: dt.datetime) -> list[Queued]:
        """One unit's reminder on each of its channels not yet queued for the round."""
        channels = [("mail", status.emails), ("wecom", wecom_users)]
        channels = [(c, r) for c, r in channels if r and not self._done("reminder", status.name, slot.key, c)]
        if not channels:
            return []
        message = compose_reminder(slot, status, self.campaign, now, link=self._page_link(status.name, now))
        queued: list[Queued] = []
        for channel, recipients in channels:
            queued += self._once(status.name, slot.key, channel, recipients, message, now)
        return queued

    def _page_link(self, unit: str, now: dt.datetime) -> str | None:
        """The unit page link a reminder mail carries: its first registered contact's with an address,
        as a receipt mailed to all the unit's contacts does (notify.replies `contacts_link`)."""
        if not self.public_url:
            return None
        for contact in self.store.contacts.list(unit, office=False):
            if contact.emails:
                return contact_link(self.store, self.campaign, self.public_url, contact.id, now=now)
        return None

    def _note_unreachable(self, unit: str, slot: Slot) -> None:
        """A unit the round cannot reach (no address, no WeCom id): logged and audited once per slot."""
        if self.store.state.kv_add(f"reminder-unreachable:{unit}:{slot.key}", "1"):
            log.warning("reminder %s for %s not sent: the unit has no contact address or WeCom id", slot.key, unit)
            self.store.audit.record("scheduler", "reminder.unreachable", unit, slot=slot.key)

    def _done(self, prefix: str, unit: str, slot: str, channel: str) -> bool:
        return self.store.outbox.by_key(f"{prefix}:{unit}:{slot}:{channel}") is not None

    def _office_channels(self, *, markdown: bool) -> list[tuple[str, list[str]]]:
        emails = sorted({self.campaign.office.email, *self.campaign.digest.emails})
        users = self._office_users if self.wecom else []
        channels: list[tuple[str, list[str]]] = [("mail", emails)]
        if users:
            channels.append((MARKDOWN_CHANNEL if markdown else "wecom", users))
        if self.webhook:
            channels.append(("webhook", []))
        return channels

    def _once(
        self,
        unit: str,
        slot: str,
        channel: str,
        recipients: list[str],
        message: Message,
        now: dt.datetime,
        *,
        prefix: str = "reminder",
        attachments: list[tuple[str, bytes, str]] | None = None,
        chat_text: str | None = None,
    ) -> list[Queued]:
        key = f"{prefix}:{unit}:{slot}:{channel}"
        if self.store.outbox.by_key(key) is not None:
            return []  # done (a read: most ticks stop here)
        if not self.store.state.try_mark_reminder(unit, slot, channel):
            log.info(
                "%s %s for %s on %s was claimed elsewhere; queued here unless already queued",
                prefix,
                slot,
                unit,
                channel,
            )
        mail = channel == "mail"
        text = chat_text if chat_text is not None and not mail else message.chat
        _, created = self.notices.queue(
            key,
            channel=channel,
            recipients=recipients,
            subject=message.subject,
            text=message.text if mail else text,
            html=message.html if mail else None,
            attachments=attachments,
            unit=unit if unit != self.campaign.office.name else None,
            not_before=now,
        )
        if not created:
            return []
        log.info("%s %s for %s queued on %s", prefix, slot, unit, channel)
        return [Queued(unit, slot, channel, tuple(recipients), key, message.text if mail else text)]

    # -- the digest ------------------------------------------------------------------------------
    def send_digest(self, statuses: list[UnitStatus], now: dt.datetime, *, day: dt.date | None = None) -> list[Queued]:
        day = day or now.astimezone(self.campaign.tz).date()
        slot = f"digest:{day.isoformat()}"
        channels = self._office_channels(markdown=True)
        office = self.campaign.office.name
        if all(self._done("digest", office, slot, c) for c, _ in channels):
            return []  # sent already: the workbook is not built again on every tick of the day
        digest = self.digest(statuses, now)
        robot = digest_markdown(digest, self.campaign, ROBOT_LIMIT)
        app = digest_markdown(digest, self.campaign, APP_MARKDOWN_LIMIT)
        subject = f"【每日汇总】{self.campaign.year}年推荐材料报送情况（{day:%m月%d日}）"
        text = robot.replace("**", "").replace("> ", "") + "\n"
        for colour in ("info", "warning", "comment"):
            text = text.replace(f'<font color="{colour}">', "")
        text = text.replace("</font>", "")
        message = Message(subject=subject, text=text, html=_html_of(text), chat=robot)
        attachment = [(digest_filename(digest), digest_xlsx(digest, self.campaign), XLSX_MIME)]
        queued: list[Queued] = []
        for channel, recipients in channels:
            queued += self._once(
                office,
                slot,
                channel,
                recipients,
                message,
                now,
                prefix="digest",
                attachments=attachment if channel == "mail" else None,
                chat_text=app if channel == MARKDOWN_CHANNEL else robot,
            )
        keep_snapshot(self.store, digest.snapshot())  # tomorrow's digest says what changed since this one
        return queued


def _html_of(text: str) -> str:
    import html

    return "".join(f"<p>{html.escape(line)}</p>" for line in text.splitlines())
