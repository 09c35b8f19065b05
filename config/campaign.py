"""The campaign: every number and list of the call, loaded from one TOML file.

Next year's call is a new TOML file, never a code change, so nothing here carries a
number of the call as a default: a missing key is an error that names the key.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

DEFAULT_CAMPAIGN = Path(__file__).with_name("campaign-2021.toml")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Range(Strict):
    min: int
    max: int

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max})")
        return self

    def __contains__(self, value: float) -> bool:
        return self.min <= value <= self.max


class UnitKind(StrEnum):
    CITY = "city"
    COLLEGE = "college"
    OTHER = "other"


class Contact(Strict):
    name: str
    emails: list[str] = []
    wecom_user: str | None = None
    phone: str | None = None


class Unit(Strict):
    name: str
    kind: UnitKind
    aliases: list[str] = []
    contacts: list[Contact] = []


class Quotas(Strict):
    stars: Range
    projects: Range
    exemplar_stars: int
    exemplar_projects: int
    exemplar_unit_kinds: list[UnitKind]


class IdPhoto(Strict):
    min_ratio: float
    max_ratio: float
    min_width: int
    min_height: int


class VideoSpec(Strict):
    """Duration bounds in seconds; codec/size/fps only where the call names them."""

    required: bool
    containers: list[str]
    min_seconds: int
    max_seconds: int
    codec: str | None = None
    width: int | None = None
    height: int | None = None
    fps: float | None = None


class StarRules(Strict):
    photos: Range
    id_photo: IdPhoto
    video: VideoSpec
    groups: list[str]
    leader_keywords: list[str]
    leader_exclusions: list[str]


class SummarySpec(Strict):
    min_chars: int
    max_chars: int


class ScaleSpec(Strict):
    min_people: int
    min_participations: int


class ProjectRules(Strict):
    photos: Range
    video: VideoSpec
    summary: SummarySpec
    min_age_years: int
    scale: ScaleSpec
    categories: list[str]


class ExemplarRules(Strict):
    marks: list[str]
    negations: list[str]
    extra_photos: Range
    video: VideoSpec


class Tolerances(Strict):
    duration_slack_seconds: float
    fps_tolerance: float


class Limits(Strict):
    """Safety limits for unpacking and decoding (RULES.md "Safety limits")."""

    max_archive_depth: int
    max_archive_entries: int
    max_unpacked_bytes: int
    max_ratio: int
    ratio_min_bytes: int
    max_image_pixels: int
    max_mail_bytes: int


class PastStar(Strict):
    name: str
    unit: str | None = None
    year: int
    id_number: str | None = None


class PastProject(Strict):
    name: str
    unit: str | None = None
    year: int


class PastHonorees(Strict):
    stars: list[PastStar] = []
    projects: list[PastProject] = []


class Reminders(Strict):
    days_before: list[int]
    time: dt.time
    after_deadline_days: int


class Digest(Strict):
    time: dt.time
    days_after_deadline: int | None = None  # the last digest is this many days after the deadline; None: no end
    emails: list[str] = []  # more recipients of the digest mail besides the office's address


class Office(Strict):
    name: str
    email: str
    phone: str
    address: str
    contact: str
    members: list[Contact] = []


class Campaign(Strict):
    name: str
    year: int
    timezone: str
    deadline: dt.date
    office: Office
    quotas: Quotas
    star: StarRules
    project: ProjectRules
    exemplar: ExemplarRules
    tolerances: Tolerances
    limits: Limits
    reminders: Reminders
    digest: Digest
    large_file_link_patterns: list[str]
    units: list[Unit]
    past_honorees: PastHonorees = Field(default_factory=PastHonorees)

    model_config = ConfigDict(extra="forbid", frozen=True, ignored_types=(cached_property,))

    @model_validator(mode="after")
    def _valid(self) -> Campaign:
        ZoneInfo(self.timezone)
        seen: set[str] = set()
        for unit in self.units:
            if unit.name in seen:
                raise ValueError(f"unit {unit.name!r} is listed twice")
            seen.add(unit.name)
        return self

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def deadline_end(self) -> dt.datetime:
        """The last instant materials count as on time: the end of the deadline day, local time."""
        next_day = self.deadline + dt.timedelta(days=1)
        return dt.datetime.combine(next_day, dt.time(0, 0), tzinfo=self.tz)

    def unit_named(self, text: str) -> Unit | None:
        """The unit whose full name or an alias best matches `text` (longest match wins)."""
        best: tuple[int, Unit] | None = None
        for unit in self.units:
            for candidate in (unit.name, *unit.aliases):
                if candidate and candidate in text and (best is None or len(candidate) > best[0]):
                    best = (len(candidate), unit)
        return best[1] if best else None

    def unit_by_exact_name(self, name: str) -> Unit | None:
        for unit in self.units:
            if unit.name == name or name in unit.aliases:
                return unit
        return None

    def unit_of_address(self, address: str) -> Unit | None:
        address = address.strip().lower()
        for unit in self.units:
            for contact in unit.contacts:
                if address in (e.lower() for e in contact.emails):
                    return unit
        return None

    def unit_of_wecom_user(self, user_id: str) -> Unit | None:
        for unit in self.units:
            for contact in unit.contacts:
                if contact.wecom_user == user_id:
                    return unit
        return None


class CampaignError(Exception):
    """A campaign file that cannot be used; the message names the file and the key."""


def load_campaign(path: Path | str | None = None) -> Campaign:
    path = Path(path) if path else DEFAULT_CAMPAIGN
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise CampaignError(f"campaign file not found: {path}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise CampaignError(f"{path}: not valid TOML: {exc}") from exc
    try:
        return Campaign.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            key = ".".join(str(p) for p in err["loc"]) or "(top level)"
            problems.append(f"  {key}: {err['msg']}")
        raise CampaignError(f"{path}: invalid campaign configuration:\n" + "\n".join(problems)) from exc
