"""The campaign: every number and list of the call, loaded from one TOML file.

Next year's call is a new TOML file, never a code change, so nothing here carries a
number of the call as a default: a missing key is an error that names the key.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

DEFAULT_CAMPAIGN = Path(__file__).with_name("campaign-2021.toml")


def _regex(pattern: str) -> str:
    """A pattern the rules will compile: a typo fails at load time, naming its key, not mid-check."""
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"not a valid regular expression {pattern!r}: {exc}") from exc
    return pattern


def _timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r} (an IANA name such as 'Asia/Shanghai')") from exc
    return name


CAMPAIGN_KEY_PATTERN = re.compile(r"[a-z0-9_-]{1,40}")  # storage.db splices keys into names


def _campaign_key(key: str) -> str:
    """A key names the campaign's own database schema or file (storage.db): a short slug, checked
    here so a typo stops the load, naming the key, instead of reaching a file or schema name."""
    if not CAMPAIGN_KEY_PATTERN.fullmatch(key):
        raise ValueError(
            f'活动标识 key = {key!r} 不可用：只能由小写字母、数字、“-”和“_”组成，1 至 40 个字符（如 "jilin-2021"）'
        )
    return key


Regex = Annotated[str, AfterValidator(_regex)]
# Counts, sizes, durations and tolerances: a negative one is a typo that would silently
# make a rule pass or fail everything.
Count = Annotated[int, Field(ge=0)]
Amount = Annotated[float, Field(ge=0)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Range(Strict):
    min: Count
    max: Count

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


KIND_ZH = {UnitKind.CITY: "市州", UnitKind.COLLEGE: "高校", UnitKind.OTHER: "其他"}  # as the office says them


def submission_ref(short: str, number: int) -> str:
    """The reference a unit can quote for its `number`th submission: "长春-07" (`short`: the unit's
    short name). The one place it is written: receipts, the office's views, `nomdesk check`."""
    return f"{short}-{number:02d}"


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
    short: str | None = None  # how receipt references name the unit ("长春-07"); default: see short_name
    # "normal": a mail from the unit's contact that fails sender authentication (DKIM and SPF, or
    # the domain's DMARC) is held for the office. "lenient": never held, for units whose mail
    # domain signs nothing and fails SPF (a small local server); the verdict is still recorded.
    sender_auth: Literal["normal", "lenient"] = "normal"

    @property
    def short_name(self) -> str:
        """`short`, else the shortest alias without a trailing 市/州/盟 ("长春市" -> "长春"), else the name."""
        if self.short and self.short.strip():
            return self.short.strip()
        candidates = [a.strip().removesuffix("市").removesuffix("州").removesuffix("盟") for a in self.aliases]
        candidates = [c for c in candidates if len(c) >= 2]
        return min(candidates, key=len) if candidates else self.name


class Quotas(Strict):
    stars: Range
    projects: Range
    exemplar_stars: Count
    exemplar_projects: Count
    exemplar_unit_kinds: list[UnitKind]


class IdPhoto(Strict):
    min_ratio: Amount
    max_ratio: Amount
    min_width: Count
    min_height: Count
    size_zh: str = "2寸"  # the size as the call and the units name it ("2寸免冠彩色证件照")


class VideoSpec(Strict):
    """Duration bounds in seconds; codec/size/fps only where the call names them."""

    required: bool
    containers: list[str]
    min_seconds: Count
    max_seconds: Count
    codec: str | None = None
    width: Count | None = None
    height: Count | None = None
    fps: Amount | None = None


class StarRules(Strict):
    photos: Range
    id_photo: IdPhoto
    video: VideoSpec
    groups: list[str]
    leader_keywords: list[Regex]
    leader_exclusions: list[Regex]


class SummarySpec(Strict):
    min_chars: Count
    max_chars: Count


class ScaleSpec(Strict):
    min_people: Count
    min_participations: Count


class ProjectRules(Strict):
    photos: Range
    video: VideoSpec
    summary: SummarySpec
    min_age_years: Count
    scale: ScaleSpec
    categories: list[str]


class ExemplarRules(Strict):
    marks: list[str]
    negations: list[str]
    extra_photos: Range
    video: VideoSpec


class Tolerances(Strict):
    duration_slack_seconds: Amount
    fps_tolerance: Amount


class Limits(Strict):
    """Safety limits for unpacking and decoding (RULES.md "Safety limits")."""

    max_archive_depth: Count
    max_archive_entries: Count
    max_unpacked_bytes: Count
    max_ratio: Count
    ratio_min_bytes: Count
    max_image_pixels: Count
    max_mail_bytes: Count
    max_office_xml_bytes: Count  # a form's XML, unpacked, is parsed in memory
    # One file a unit uploads on its own page (web.unit_uploads). It becomes a mail, so it must fit
    # the mail cap (nomdesk.accept.largest_office_file); where it does not, the mail's cap holds.
    max_upload_bytes: Count


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
    days_before: list[Count]
    time: dt.time
    after_deadline_days: Count
    # A desk that was down on the after-deadline slot still sends it this many days later; a desk
    # first started long after the campaign has no one left to remind.
    catch_up_days: Count = 7


class Digest(Strict):
    time: dt.time
    days_after_deadline: Count | None = None  # the last digest is this many days after the deadline; None: no end
    emails: list[str] = []  # more recipients of the digest mail besides the office's address


class LinkRules(Strict):
    """Which links in a mail body stand for material the office must fetch (RULES.md LINK_PENDING).

    Hosts and words change with the mail services units use, so they are configuration.
    """

    large_file_patterns: list[Regex]  # mail 超大附件 and cloud-drive share paths: always material
    file_transfer_hosts: list[str]  # 奶牛快传, WeTransfer, ...: any link to them (or a subdomain)
    material_words: list[str]  # words around any other link that offer it as material
    code_words: list[str]  # words before an extraction code ("提取码：ab12")
    not_material_patterns: list[Regex]  # signatures, articles, news: never material unless the above
    signature_words: list[str]  # a mail client's footer: links among these words are not material


class ScanRules(Strict):
    """Stamped scans of 附表1/附表3 read by OCR (intake/forms/scan.py): which files are tried, what it may cost."""

    # A photo is tried as a scanned page only when it looks like one (its thumbnail): page-like portrait
    # aspect, enough pixels to read, mostly paper (light, grey) and little colour besides a red stamp.
    min_short_side: Count = 1000  # px; a smaller picture is too coarse to read
    aspect: tuple[Amount, Amount] = (1.2, 1.6)  # long side / short side (A4 1.41, letter 1.29)
    min_paper_share: Amount = 0.6  # light, unsaturated pixels
    max_colour_share: Amount = 0.12  # saturated pixels that are not red
    # Title words (found by OCR in the top band of page 1) beside those of intake/forms/fields.py.
    star_words: list[str] = ["附表1"]
    project_words: list[str] = ["附表3"]
    not_form_words: list[str] = ["登记表", "附表2", "附表4"]  # a scanned register is the unit's document
    title_band: Amount = 0.22  # top share of page 1 searched for the title
    title_dpi: Count = 150
    title_lines: Count = 2  # text lines of that band read (附表1, the title): OCR time goes by characters
    read_dpi: Count = 300
    max_pages: Count = 2  # pages of an image PDF read
    page_timeout_seconds: Amount = 60  # one tesseract run on one page
    workers: Count = 2  # tesseract runs at once (each on one core)


class Office(Strict):
    name: str
    email: str
    phone: str
    address: str
    contact: str
    members: list[Contact] = []
    # Words in a unit's mail saying its stamped paper copy is on its way: the receipt then stops
    # asking for it (the office records its arrival; until then the unit is not told to post it again).
    paper_posted_words: list[str] = ["已寄出", "已邮寄", "已寄送", "已快递", "快递单号", "运单号", "邮寄单号"]


class Campaign(Strict):
    # Several campaigns (provinces, years) in one database: each keyed one has its own schema
    # (PostgreSQL) or file (SQLite). None: the default campaign, where a desk always kept its data.
    key: Annotated[str, AfterValidator(_campaign_key)] | None = None
    name: str
    year: int
    timezone: Annotated[str, AfterValidator(_timezone)]
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
    links: LinkRules
    scans: ScanRules = Field(default_factory=ScanRules)
    units: list[Unit]
    past_honorees: PastHonorees = Field(default_factory=PastHonorees)

    model_config = ConfigDict(extra="forbid", frozen=True, ignored_types=(cached_property,))

    @model_validator(mode="after")
    def _valid(self) -> Campaign:
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

    def unit_called(self, text: str) -> Unit | None:
        """The unit a clerk or a contact means by the name they typed: its full name, an alias or the
        short name receipts use ("长春"), exactly, once spaces around it (full-width ones too) are
        trimmed. Nothing looser: "长春市第一中学" names no unit, though it contains one (see
        `unit_named` for finding a unit inside free text). A full name or alias wins over another
        unit's short name."""
        wanted = (text or "").strip()
        if not wanted:
            return None
        by_name = next((u for u in self.units if wanted == u.name or wanted in u.aliases), None)
        return by_name or next((u for u in self.units if wanted == u.short_name), None)

    def short_name(self, unit: str | None) -> str:
        """The short name receipt references use for `unit` (its full name when not configured)."""
        config_unit = self.unit_by_exact_name(unit) if unit else None
        return config_unit.short_name if config_unit else (unit or "报送")

    def submission_ref(self, unit: str | None, number: int) -> str:
        """The reference a unit quotes for its `number`th submission ("长春-07"), as its receipts
        print it: also how a receipt names a submission the office voided, on a floor below notify."""
        return submission_ref(self.short_name(unit), number)

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
        raise CampaignError(f"找不到活动配置文件：{path}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise CampaignError(f"活动配置文件 {path} 格式有误（不是有效的 TOML）：{exc}") from exc
    try:
        return Campaign.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            problems.append(f"  {config_key(err['loc'])}: {err['msg']}")
        raise CampaignError(f"活动配置文件 {path} 有误（以下为出错的配置项）：\n" + "\n".join(problems)) from exc


def config_key(loc: tuple[int | str, ...]) -> str:
    """A validation error's location as the TOML spells it: star.leader_keywords[0], units[3].name."""
    key = ""
    for part in loc:
        key += f"[{part}]" if isinstance(part, int) else (f".{part}" if key else str(part))
    return key or "(top level)"
