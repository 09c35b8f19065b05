"""Pydantic models going in and out of `Store` where a table row is not the right shape.

The words for the 待确认 queue live here too, beside `WaitingMail`: the bot and the scheduler
(and the dashboard and CLI above them) all say them, and this is the lowest floor they share.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, Field


class NewFile(BaseModel):
    """A file of a submission whose bytes are already in the blob store."""

    path: str
    sha256: str
    size: int
    sniffed: str = ""
    kind: str = "other"
    probe: dict[str, Any] = Field(default_factory=dict)  # PhotoInfo / VideoInfo as JSON


class ContactView(BaseModel):
    id: int
    unit_name: str | None  # None for the office's own members
    name: str
    emails: list[str]
    wecom_user: str | None = None
    phone: str | None = None
    role: str = ""
    is_office: bool = False
    from_config: bool = False  # seeded from the campaign TOML
    added_by: str = "config"
    added_at: dt.datetime | None = None


class UnitOverview(BaseModel):
    """One line of the status view of the campaign."""

    name: str
    kind: str
    known: bool  # in the campaign config
    submissions: int = 0
    last_arrival: dt.datetime | None = None
    stars: int = 0
    projects: int = 0
    errors: int = 0
    warnings: int = 0
    infos: int = 0
    evaluated_version: int | None = None
    paper_received: bool = False
    check_error: str | None = None  # the latest evaluation's rules that raised: 检查未完成
    late: bool = False  # the latest evaluation found a submission after the deadline (LATE)
    exemplar_stars: int = 0  # current nominees the unit marked 典范
    exemplar_projects: int = 0


class WaitingMail(BaseModel):
    """A mail in the 待确认 queue: an unknown sender's, no unit assigned yet, not rejected.

    `guess` is the unit the office is asked to confirm, one for all of a sender's waiting mails
    (she is confirmed once): the one she last named in her own words (`claim_unit`, see
    intake.sender_claim) when she named exactly one, else the one the desk last guessed from her
    mails; the office's notice proposes the same unit. A mail with no sender has its own."""

    submission_id: int
    raw_id: int
    sender: str  # the From address, lower case ("" when the mail had none)
    sender_name: str = ""
    # The WeCom user a file sent to the app came from: its `sender` is then a made-up address
    # (<user>@wecom.invalid) that no mail reaches, so the office is shown this instead.
    wecom_user: str | None = None
    subject: str = ""
    arrived_at: dt.datetime
    guess: str | None = None
    mail_guess: str | None = None  # the unit the desk guessed from this mail alone
    claim_unit: str | None = None  # the unit the sender named, if any
    claim_certain: bool = False  # she named exactly one unit, by its full or a known short name
    claim_name: str | None = None  # the contact's name she gave
    claim_phone: str | None = None
    files: list[str] = Field(default_factory=list)  # the paths of what the mail brought
    # Held, not unknown: the sender is `held_unit`'s registered contact but the mail failed sender
    # authentication (intake.authentication); it joins that unit only when the office confirms it.
    held_unit: str | None = None
    held_reason: str | None = None


def waiting_by_unit(mails: Iterable[WaitingMail]) -> Counter[str | None]:
    """The 待确认 queue counted by the unit each mail is guessed to be from (None: no guess), so
    the status, digest, bot, dashboard and CLI all count a unit's waiting mails alike."""
    return Counter(m.guess for m in mails)


# The office's words for the queue, said after a count of waiting mails.
WAITING_HINT = "（发件人未登记，请在工作台“待确认”中确认所属单位）"
HELD_PREFIX = "疑似冒用发件人："  # how the office is shown a held mail's reason (`WaitingMail.held_reason`)


def waiting_note(count: int) -> str:
    """ "有 N 封邮件待确认", shown to the office beside a unit wherever it is listed ("" when none)."""
    return f"有 {count} 封邮件待确认" if count else ""


def waiting_total(count: int) -> str:
    """The queue's line in the office's summaries (digest, bot): every waiting mail, guessed or not."""
    return f"待确认单位 {count} 封" + (WAITING_HINT if count else "")


def waiting_for_unit(count: int) -> str:
    """What a unit may learn of the queue: how many mails may be its own, never who sent them (a
    wrong guess must not show another sender's address or subject); "" when none."""
    if not count:
        return ""
    return f"另有 {count} 封邮件正在等待省级办公室确认所属单位；如是贵单位发出的，确认后即会处理，无需重发。"
