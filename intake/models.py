"""The data that flows from intake to the validators.

A `Submission` is what one mail (or archive, or folder) carried, read and probed; a
`Dossier` is a unit's submissions merged (RULES.md "Resubmissions") with every file
attributed to a nominee or project. Validators see only the `Dossier`.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FileKind(StrEnum):
    """What a file is for the call, decided from its content (and its name where content is ambiguous)."""

    REGISTER_STARS = "register_stars"  # 附表2
    REGISTER_PROJECTS = "register_projects"  # 附表4
    STAR_FORM = "star_form"  # 附表1
    PROJECT_FORM = "project_form"  # 附表3
    SUMMARY = "summary"  # 工作总结
    PHOTO = "photo"
    VIDEO = "video"
    DOCUMENT = "document"  # a readable document that is none of the above
    OTHER = "other"


class FileProblem(Model):
    """Something intake could not do with a file; becomes a file-level finding (code + params)."""

    code: str  # FILE_UNREADABLE, FILE_UNSUPPORTED, ARCHIVE_ENCRYPTED, ARCHIVE_REJECTED, ARCHIVE_PART_MISSING
    path: str
    reason: str  # a short Chinese explanation for the message ("文件已损坏", "解压后超过 8 GiB" ...)
    params: dict[str, Any] = Field(default_factory=dict)
    submission: int = 0
    # Set when merging: the nominee the file was meant for and which of its items ("视频 无法打开✗").
    nominee: str | None = None
    item: str | None = None  # one of ITEMS


class PhotoInfo(Model):
    format: str  # JPEG, PNG, HEIF, ... (Pillow's name; the real format, not the extension)
    width: int  # after EXIF rotation
    height: int
    exif_orientation: int | None = None
    colour: bool  # False for greyscale (mode L/1, or RGB whose channels are equal)


class VideoInfo(Model):
    container: str  # "mp4", "mov", "avi", "mkv", "flv", "webm", ... ("mp4" only for an MP4 brand)
    major_brand: str | None = None
    format_name: str  # ffprobe's format_name
    has_video: bool
    has_audio: bool
    codec: str | None = None  # h264, hevc, mpeg4, ...
    width: int | None = None  # displayed (after rotation)
    height: int | None = None
    rotation: int = 0
    fps: float | None = None  # average frame rate
    variable_frame_rate: bool = False
    duration: float | None = None  # seconds


class PackageFile(Model):
    """One file of a submission, after unpacking: where it came from and what it is."""

    path: str  # logical path: attachment name, then the path inside archives ("材料.zip/延边州/金哲洙/照片1.jpg")
    local: Path  # where its bytes are on disk
    size: int
    sniffed: str  # real type from content: "zip", "rar", "7z", "xlsx", "xls", "docx", "doc", "wps", "pdf", "jpeg", ...
    submission: int = 0
    kind: FileKind = FileKind.OTHER
    sha256: str | None = None  # photos only: the same bytes sent again are the same photo
    photo: PhotoInfo | None = None
    video: VideoInfo | None = None

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]


class YearMonth(Model):
    """A date as precisely as it was written: a year, a year and month, or a full date."""

    year: int
    month: int | None = None  # None when only a year was given
    day: int | None = None  # only for a full date past the 1st (the 1st starts the month anyway)

    def first_day(self) -> dt.date:
        """The first day the written date can mean: the day, else the 1st of the month (or of January)."""
        return dt.date(self.year, self.month or 1, self.day or 1)

    def __str__(self) -> str:
        if self.month and self.day:
            return f"{self.year}年{self.month}月{self.day}日"
        return f"{self.year}年{self.month}月" if self.month else f"{self.year}年"


class StarFields(Model):
    """A person's fields as 附表1 or a row of 附表2 gives them; keys are the field keys of forms/fields.py."""

    name: str | None = None
    gender: str | None = None
    birth: str | None = None  # as written
    birth_parsed: YearMonth | None = None
    ethnicity: str | None = None
    politics: str | None = None
    education: str | None = None
    id_number: str | None = None
    employer_title: str | None = None
    group: str | None = None
    phone: str | None = None
    email: str | None = None
    address: str | None = None
    postcode: str | None = None
    honours: str | None = None
    story: str | None = None
    intro: str | None = None  # 事迹简介 (register)
    opinion: str | None = None
    remarks: str | None = None  # 备注 (register)
    unit_line: str | None = None  # the "推荐单位（盖章）：…" line of the form, if any


class ProjectFields(Model):
    name: str | None = None
    organizer: str | None = None  # 申报单位（举办主体）
    leader: str | None = None
    phone: str | None = None
    founded: str | None = None  # as written
    founded_parsed: YearMonth | None = None
    people_per_year: str | None = None  # as written ("约3000人")
    people_per_year_n: int | None = None
    participations_per_year: str | None = None
    participations_per_year_n: int | None = None
    category: str | None = None
    online: str | None = None
    activities: str | None = None
    measures: str | None = None
    effects: str | None = None
    intro: str | None = None
    opinion: str | None = None
    remarks: str | None = None
    unit_line: str | None = None


class StarForm(Model):
    path: str
    submission: int = 0
    fields: StarFields
    missing_labels: list[str] = []  # labels of required fields the reader could not find at all
    scanned: bool = False  # read by OCR from a stamped scan (image PDF, photo): "扫描件（自动识别）"


class ProjectForm(Model):
    path: str
    submission: int = 0
    fields: ProjectFields
    missing_labels: list[str] = []
    scanned: bool = False  # read by OCR from a stamped scan


class RegisterTable(Model):
    """附表2 (stars) or 附表4 (projects): the unit's list of who is nominated."""

    kind: FileKind  # REGISTER_STARS or REGISTER_PROJECTS
    path: str
    submission: int = 0
    unit_line: str | None = None  # what follows "推荐单位（盖章）："
    star_rows: list[StarFields] = []
    project_rows: list[ProjectFields] = []
    missing_columns: list[str] = []  # labels of required columns not found in the header


class Summary(Model):
    path: str
    submission: int = 0
    chars: int  # characters other than whitespace
    text_head: str = ""  # the first characters, for matching and display


class VolumePart(Model):
    """One volume of a multi-volume archive as it arrived (RULES.md ARCHIVE_PART_MISSING).

    Volumes are kept (in the store, in the service) until their set is whole, then joined by
    name and order and read as one archive, in the submission that completed the set."""

    path: str  # logical path ("材料.7z.001", "延边州.zip/分卷/材料.z01")
    local: Path  # where its bytes are on disk
    size: int
    set_name: str  # the archive the set makes ("材料.7z", "材料.zip", "材料.rar"): the set's key in a unit
    style: str  # "split" (X.7z.001: bytes cut in pieces), "zip" (X.z01 … X.zip), "rar" (X.part1.rar …)
    number: int  # 1-based position in its set
    total: int | None = None  # how many volumes the set has, when a volume says (7z header, zip end record)
    submission: int = 0


class LargeFileLink(Model):
    url: str
    host: str
    text: str = ""  # the words around it ("(80.96M, 2026年8月17日 0:49 到期)")
    code: str = ""  # its extraction code (提取码), which the office needs to fetch it
    submission: int = 0


# The subject a file sent in WeCom is stored under (as a mail, so it takes the mail's path).
WECOM_SUBJECT_PREFIX = "企业微信文件："
# The subject of what a unit contact did on her own page (nomdesk.unit_actions), kept as a desk record.
UNIT_PAGE_SUBJECT_PREFIX = "材料页面"


class FileRef(Model):
    """One file of the unit's dossier a record asks to take out (intake.removals): the path it has
    in its submission, that submission, and its bytes' sha256 to be sure it is the same file."""

    path: str
    sha256: str | None = None
    source: str | None = None  # the dossier submission's `source` ("raw:<id>"): stable when a void renumbers
    submission: int | None = None  # else its index among the unit's submissions


class Submission(Model):
    """What one mail, archive or folder carried, read and probed but not yet attributed."""

    index: int
    source: str  # the path given on the command line, or the store id in the service
    arrived_at: dt.datetime | None = None
    message_id: str | None = None
    sender: str | None = None  # address
    sender_name: str | None = None
    subject: str | None = None
    body_text: str = ""
    files: list[PackageFile] = []
    registers: list[RegisterTable] = []
    star_forms: list[StarForm] = []
    project_forms: list[ProjectForm] = []
    summaries: list[Summary] = []
    problems: list[FileProblem] = []
    links: list[LargeFileLink] = []
    ignored: list[str] = []  # operating-system leftovers (__MACOSX/, Thumbs.db ...): counted, not material
    volumes: list[VolumePart] = []  # volumes of multi-volume archives not (yet) joined
    joined_volumes: list[str] = []  # set names of the volume sets this submission completed and read
    joined_parts: list[VolumePart] = []  # the volumes of those sets (earlier ones too), for the receipt
    withdraw: list[str] = []  # names the sender asked to withdraw ("撤回 张三")
    restore: list[str] = []  # names the office restored (恢复)
    actor: str | None = None  # who acted, when not the unit's mail: "office:clerk", "wecom:userid", "link:<id>"
    remove: list[FileRef] = []  # files a record the desk wrote takes out of the dossier, before its own files


class StarEntry(Model):
    """A nominated person in the merged dossier."""

    name: str
    registered: bool  # in the (latest) 附表2
    row: StarFields | None = None
    form: StarForm | None = None
    photos: list[PackageFile] = []
    videos: list[PackageFile] = []
    scans: list[str] = []  # paths of stamped scans of its form (盖章扫描件), whether or not they are the form read
    exemplar: bool = False
    omitted_by: str | None = None  # the later 附表2 that leaves this registered nominee out (REGISTER_OMITS)

    @property
    def form_scanned(self) -> bool:
        """Its form was read by OCR off a stamped scan: the fields may be misread."""
        return self.form is not None and self.form.scanned


class ProjectEntry(Model):
    name: str
    registered: bool
    row: ProjectFields | None = None
    form: ProjectForm | None = None
    summary: Summary | None = None
    photos: list[PackageFile] = []
    videos: list[PackageFile] = []
    scans: list[str] = []  # paths of stamped scans of its form (盖章扫描件)
    exemplar: bool = False
    omitted_by: str | None = None  # the later 附表4 that leaves this registered project out

    @property
    def form_scanned(self) -> bool:
        """Its form was read by OCR off a stamped scan: the fields may be misread."""
        return self.form is not None and self.form.scanned


# The two kinds of nominee, and how a clerk names them.
STAR, PROJECT = "star", "project"
NOMINEE_KIND_ZH = {STAR: "百姓学习之星", PROJECT: "终身学习品牌项目"}

# The items of a nominee's checklist; a rule's finding speaks about one of them.
ITEM_REGISTER = "register"  # its row in 附表2/附表4
ITEM_FORM = "form"
ITEM_PHOTOS = "photos"
ITEM_VIDEO = "video"
ITEM_SUMMARY = "summary"
ITEMS = (ITEM_REGISTER, ITEM_FORM, ITEM_SUMMARY, ITEM_PHOTOS, ITEM_VIDEO)


class Outcome(StrEnum):
    """What one file of a submission did to the dossier (RULES.md "Resubmissions")."""

    FILED = "filed"  # a first item of its kind for the nominee
    ADDED = "added"  # a photo joining the set
    REPLACED = "replaced"  # took the place of an earlier item (form, video, summary, same-named photo)
    SAME = "same"  # the same bytes as a file already in the dossier: nothing changed
    REGISTER = "register"  # a registration table, merged by nominee
    UNIT_DOCUMENT = "unit_document"  # a cover letter, contents list, register scan: the unit's
    WITHDRAWN_NOMINEE = "withdrawn_nominee"  # meant for a withdrawn nominee: kept, not counted
    UNPLACED = "unplaced"  # no nominee could be found for it (FILE_UNMATCHED)
    UNUSABLE = "unusable"  # unreadable or unsupported (its file finding says why)
    VOLUME = "volume"  # a volume of a multi-volume archive: waiting for its set, or joined (reason says)


class Placement(Model):
    """Where one file of a submission went, for the receipt's "本次收到" list."""

    path: str
    outcome: Outcome
    nominee: str | None = None
    nominee_kind: str | None = None  # "star" or "project"
    item: str | None = None  # one of ITEMS
    replaced: list[str] = []  # paths of what this file took the place of
    reason: str | None = None  # why it was not placed or not usable
    scan: bool = False  # a stamped scan of the nominee's form: read as the form, or kept beside its Word form


class ChangeAction(StrEnum):
    NOMINATED = "nominated"  # a new name in a table, or a form for someone not yet known
    ROW_UPDATED = "row_updated"  # a later table changed this nominee's row
    SET_ASIDE = "set_aside"  # photos a complete new set took the place of
    WITHDRAWN = "withdrawn"
    RESTORED = "restored"
    WITHDRAW_UNKNOWN = "withdraw_unknown"  # "撤回 X" named nobody nominated
    WITHDRAWN_LISTED = "withdrawn_listed"  # a later table lists a withdrawn nominee: not counted
    OMITTED = "omitted"  # a later table leaves these registered nominees out; they stay
    REMOVED = "removed"  # one file taken out of the dossier (kept in the store)
    REMOVE_UNKNOWN = "remove_unknown"  # a file asked to be taken out was no longer in the dossier


class Change(Model):
    action: ChangeAction
    nominee: str | None = None
    nominee_kind: str | None = None
    names: list[str] = []  # OMITTED: everyone the table leaves out
    paths: list[str] = []  # SET_ASIDE: the photos set aside; REMOVED: the file taken out
    by: str | None = None  # WITHDRAWN/RESTORED/REMOVED: who
    item: str | None = None  # REMOVED: which of the nominee's items (None: a unit document or unplaced file)
    where: str | None = None  # REMOVED without a nominee: "unit_document" or "unplaced"
    replaced_by: str | None = None  # REMOVED: the path of the file of the same record that took its place


class SubmissionLog(Model):
    """What one submission did: each file's place and every change, in the order made."""

    index: int
    placements: list[Placement] = []
    changes: list[Change] = []
    ignored: list[str] = []


class Withdrawn(Model):
    name: str
    kind: str  # "star" or "project"
    by: str  # "unit" (its mail or WeCom), "office:<user>", "wecom:<user>"
    submission: int = 0


class SubmissionMeta(Model):
    index: int
    source: str
    arrived_at: dt.datetime | None = None
    message_id: str | None = None
    sender: str | None = None
    subject: str | None = None
    ref: str | None = None  # the reference the unit can quote ("长春-07")
    actor: str | None = None  # Submission.actor: "office:<user>" for what the office did


class Dossier(Model):
    """A unit's submissions merged: the one thing every rule checks."""

    unit: str | None = None  # the config's full name, or the best name found
    unit_kind: str = "other"
    unit_known: bool = False  # the unit is in the campaign config
    sender_registered: bool | None = None  # None offline (no contact check), else whether the sender is a contact
    submissions: list[SubmissionMeta] = []
    star_register: RegisterTable | None = None
    project_register: RegisterTable | None = None
    stars: list[StarEntry] = []
    projects: list[ProjectEntry] = []
    problems: list[FileProblem] = []
    unmatched: list[PackageFile] = []
    unit_documents: list[PackageFile] = []  # cover letters, contents lists, register scans
    withdrawn: list[Withdrawn] = []
    log: list[SubmissionLog] = []  # one per submission, in order
    links: list[LargeFileLink] = []
    other_unit_nominees: dict[str, list[str]] = Field(default_factory=dict)  # service: duplicates across units
    paper_received: bool | None = None  # None offline (unknown)
    paper_posted: bool = False  # a mail of the unit says its paper copy was posted (intake.paper)
