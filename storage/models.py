"""Pydantic models going in and out of `Store` where a table row is not the right shape."""

from __future__ import annotations

import datetime as dt
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


class WaitingMail(BaseModel):
    """A mail in the 待确认 queue: an unknown sender's, no unit assigned yet, not rejected.

    `guess` is the unit the office is asked to confirm: the one the sender named in her own words
    (`claim_unit`, see intake.sender_claim) or else the one the desk guessed from the mail."""

    submission_id: int
    raw_id: int
    sender: str  # the From address, lower case ("" when the mail had none)
    sender_name: str = ""
    subject: str = ""
    arrived_at: dt.datetime
    guess: str | None = None
    claim_unit: str | None = None  # the unit the sender named, if any
    claim_certain: bool = False  # she named exactly one unit, by its full or a known short name
    claim_name: str | None = None  # the contact's name she gave
    claim_phone: str | None = None
    files: list[str] = Field(default_factory=list)  # the paths of what the mail brought
