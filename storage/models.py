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
    is_office: bool = False
    from_config: bool = False


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
