"""The bulk message: one message of the office to every unit in a state (未报送 / 待修改), by mail
and WeCom. The one home of it: the dashboard (and anything after it) previews and sends here.

Why a preview and a token: the office sees, before anything goes, who gets it on which channel,
which units it cannot reach (no contact, so someone must phone them) and the message exactly as a
unit reads it. The preview mints a token the confirm form carries and keeps it for an hour with a
hash of what was previewed and the units it listed: a send is refused for a token never previewed,
expired, or whose message differs, and it reaches no unit the office did not see. Every outbox row
of the send is keyed `broadcast:<token>:<unit>:<channel>`, so a double click queues nothing twice.
A mail goes through the same hourly limit per address as the desk's replies (held, not dropped).
The text is the office's own words: it is escaped in the mail's HTML part (and by the pages).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import json
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field

from bot.wecom_client import APP_TEXT_LIMIT
from config.campaign import Campaign
from notify.replies import Replies
from schedule.status import STATE_ZH, UnitState, collect_status
from storage.repo import Store

STATES = (UnitState.NOTHING, UnitState.INCOMPLETE)  # the states a bulk message may go to
CHANNELS = ("mail", "wecom")
CHANNEL_ZH = {"mail": "邮件", "wecom": "企业微信"}
SUBJECT_MAX_CHARS = 120
TEXT_MAX_CHARS = 4000
TOKEN = re.compile(r"[A-Za-z0-9_-]{8,64}")
AUDIT_ACTION = "broadcast.sent"
PREVIEW_KEY = "broadcast:preview:"  # + token -> what was previewed, kept PREVIEW_TTL
PREVIEW_TTL = dt.timedelta(hours=1)
EXPIRED_ZH = "群发确认已失效（未经预览或预览已超过 1 小时），请重新预览后再发送"
CHANGED_ZH = "内容已修改，请重新预览后再发送"


@dataclass(frozen=True)
class Message:
    """What one unit receives: the mail (subject, text, HTML) and the WeCom text."""

    subject: str
    text: str
    html: str
    chat: str


@dataclass(frozen=True)
class Target:
    """A unit the message is for, and whom of it each chosen channel reaches."""

    unit: str
    state: str
    state_zh: str
    emails: list[str]
    wecom_users: list[str]
    contacts: int  # its registered contacts, whether or not they have an address on a chosen channel
    waiting: int = 0  # its mails in the 待确认 queue (it may have sent more than its state says)

    @property
    def reachable(self) -> bool:
        return bool(self.emails or self.wecom_users)

    @property
    def why_unreachable(self) -> str:
        return "未登记联系人" if not self.contacts else "联系人没有所选渠道的联系方式"


@dataclass(frozen=True)
class BroadcastPreview:
    token: str
    states: list[str]
    channels: list[str]
    subject: str
    body: str  # the office's text as typed (the confirm form sends it back)
    sample: Message  # the message as the first unit reads it (each is addressed by its own name)
    as_of: dt.datetime  # when the units' states were read
    targets: list[Target]  # reached on at least one chosen channel
    unreachable: list[Target]


@dataclass
class BroadcastResult:
    token: str
    queued: int = 0  # outbox rows this send created
    held: int = 0  # of them, mails held back by the hourly limit per address
    already: int = 0  # rows this token had queued before (a second click)
    units: list[str] = field(default_factory=list)
    unreachable: list[str] = field(default_factory=list)


def new_token() -> str:
    return secrets.token_urlsafe(12)


def _signature(campaign: Campaign) -> list[str]:
    office = campaign.office
    return [office.name, f"联系人：{office.contact}　电话：{office.phone}"]


def render_message(campaign: Campaign, unit: str, subject: str, body: str) -> Message:
    """The office's message as `unit` receives it: addressed to the unit, signed by the office."""
    lines = [f"{unit}：", "", *body.strip().splitlines(), "", *_signature(campaign)]
    text = "\n".join(lines) + "\n"
    html_text = "".join(f"<p>{html.escape(line)}</p>" if line.strip() else "<br>" for line in lines)
    chat = "\n".join([f"【{subject}】" if subject else "", *lines]).strip()
    return Message(subject=subject, text=text, html=html_text, chat=chat)


def _checked(
    campaign: Campaign, states: Iterable[str], subject: str, body: str, channels: Iterable[str]
) -> tuple[list[str], list[str], str, str]:
    """The request made plain, or a ValueError in Chinese saying what to fix."""
    chosen_states = [s.value for s in STATES if s.value in set(states)]
    chosen_channels = [c for c in CHANNELS if c in set(channels)]
    subject, body = " ".join(subject.split()), body.strip()
    if not chosen_states:
        raise ValueError("请选择要群发的单位（未报送 / 待修改）")
    if not chosen_channels:
        raise ValueError("请选择发送渠道（邮件 / 企业微信）")
    if not subject:
        raise ValueError("请填写标题")
    if not body:
        raise ValueError("请填写群发内容")
    if len(subject) > SUBJECT_MAX_CHARS:
        raise ValueError(f"标题过长（最多 {SUBJECT_MAX_CHARS} 字）")
    if len(body) > TEXT_MAX_CHARS:
        raise ValueError(f"群发内容过长（最多 {TEXT_MAX_CHARS} 字）")
    if "wecom" in chosen_channels:
        longest = max((u.name for u in campaign.units), key=lambda n: len(n.encode()), default="")
        size = len(render_message(campaign, longest, subject, body).chat.encode())
        if size > APP_TEXT_LIMIT:
            raise ValueError(f"企业微信消息最长 {APP_TEXT_LIMIT} 字节，这条约 {size} 字节：请精简内容，或只发邮件")
    return chosen_states, chosen_channels, subject, body


def _fingerprint(states: list[str], channels: list[str], subject: str, body: str) -> str:
    """What a preview showed, as a hash: the send must carry exactly this."""
    text = json.dumps([states, channels, subject, body], ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _targets(
    store: Store, campaign: Campaign, states: list[str], channels: list[str]
) -> tuple[list[Target], list[Target]]:
    """The units in `states` now: (reached on a chosen channel, not reachable)."""
    targets, unreachable = [], []
    for status in collect_status(store, campaign):
        if status.state.value not in states:
            continue
        target = Target(
            unit=status.name,
            state=status.state.value,
            state_zh=STATE_ZH[status.state],
            emails=status.emails if "mail" in channels else [],
            wecom_users=status.wecom_users if "wecom" in channels else [],
            contacts=len(status.contacts),
            waiting=status.waiting,
        )
        (targets if target.reachable else unreachable).append(target)
    return targets, unreachable


def preview_broadcast(
    store: Store,
    campaign: Campaign,
    *,
    states: set[str],
    subject: str,
    text: str,
    channels: set[str],
    now: dt.datetime,
) -> BroadcastPreview:
    """Who a bulk message reaches, who it cannot, and what it says, as the units stand at `now`.
    Nothing is queued; the token it mints is kept (with what it showed) for `send_broadcast`."""
    chosen_states, chosen_channels, subject, body = _checked(campaign, states, subject, text, channels)
    targets, unreachable = _targets(store, campaign, chosen_states, chosen_channels)
    token = new_token()
    kept = {"hash": _fingerprint(chosen_states, chosen_channels, subject, body), "units": [t.unit for t in targets]}
    store.state.kv_set(PREVIEW_KEY + token, json.dumps(kept, ensure_ascii=False), expires_at=now + PREVIEW_TTL)
    first = targets[0].unit if targets else (unreachable[0].unit if unreachable else "（单位名称）")
    return BroadcastPreview(
        token=token,
        states=chosen_states,
        channels=chosen_channels,
        subject=subject,
        body=body,
        sample=render_message(campaign, first, subject, body),
        as_of=now,
        targets=targets,
        unreachable=unreachable,
    )


def send_broadcast(
    store: Store,
    campaign: Campaign,
    notices: Replies,
    *,
    token: str,
    states: set[str],
    subject: str,
    text: str,
    channels: set[str],
    actor: str,
    now: dt.datetime,
) -> BroadcastResult:
    """Queue the previewed message: one outbox row per unit and channel, once per `token`.

    A ValueError (in Chinese) when `token` was never previewed or has expired, or the message is
    not the one previewed. The units are those the preview listed that are still in the states (a
    unit that became complete since is not told it is missing anything); a contact's address is
    read now. A mail over an address's hourly limit is held until it has room."""
    kept_text = store.state.kv_get(PREVIEW_KEY + token, now) if TOKEN.fullmatch(token or "") else None
    if kept_text is None:
        raise ValueError(EXPIRED_ZH)
    kept = json.loads(kept_text)
    chosen_states, chosen_channels, subject, body = _checked(campaign, states, subject, text, channels)
    if kept.get("hash") != _fingerprint(chosen_states, chosen_channels, subject, body):
        raise ValueError(CHANGED_ZH)
    previewed = set(kept.get("units") or [])
    targets, unreachable = _targets(store, campaign, chosen_states, chosen_channels)
    result = BroadcastResult(token=token, unreachable=[t.unit for t in unreachable])
    for target in (t for t in targets if t.unit in previewed):
        message = render_message(campaign, target.unit, subject, body)
        for channel, recipients in (("mail", target.emails), ("wecom", target.wecom_users)):
            if not recipients:
                continue
            key = f"broadcast:{token}:{target.unit}:{channel}"
            if store.outbox.by_key(key) is not None:
                result.already += 1
                continue
            slot = notices.rate_slot(recipients) if channel == "mail" else None
            mail = channel == "mail"
            row, created = notices.queue(
                key,
                channel=channel,
                recipients=recipients,
                subject=message.subject if mail else None,
                text=message.text if mail else message.chat,
                html=message.html if mail else None,
                unit=target.unit,
                not_before=max(now, slot) if slot else now,
            )
            if not created:
                result.already += 1
                continue
            result.queued += 1
            if slot is not None and slot > now:
                result.held += 1
                store.audit.record(
                    "notify", "outbox.rate_delayed", target.unit, outbox_id=row.id, until=slot.isoformat()
                )
        result.units.append(target.unit)
    if result.queued:
        store.audit.record(
            actor,
            AUDIT_ACTION,
            None,
            token=token,
            states=chosen_states,
            channels=chosen_channels,
            subject=subject,
            units=len(result.units),
            queued=result.queued,
            held=result.held,
            unreachable=result.unreachable,
        )
    return result
