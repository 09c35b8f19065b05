"""Who a file belongs to: the nominees a unit's tables and forms name, and the paths that name them.

RULES.md "Matching files to nominees": a file belongs to a nominee when its path (folder
names included) contains the nominee's name or the project's distinctive part; photos and
videos in a folder named after a person belong to that person; a name is not matched
inside a longer name. FORMS.md "Other materials": cover letters, contents lists and scans
of a whole register are the unit's own documents.
"""

from __future__ import annotations

import filecmp
from collections.abc import Iterator
from dataclasses import dataclass, field

from intake.media.probe import is_form_scan
from intake.models import (
    ITEM_PHOTOS,
    ITEM_VIDEO,
    PROJECT,
    STAR,
    Change,
    ChangeAction,
    FileKind,
    Outcome,
    PackageFile,
    Placement,
    ProjectEntry,
    RegisterTable,
    StarEntry,
    Submission,
    SubmissionLog,
    Summary,
    Withdrawn,
)
from intake.names import fold, looks_like_person_name, name_key, names_in, project_keys, same_name, star_keys

# Folder names under which a person-named folder is a star's folder.
_STAR_PARENTS = ("百姓学习之星", "学习之星")
_GENERIC_FOLDERS = {
    "照片",
    "视频",
    "材料",
    "推荐材料",
    "典范材料",
    "附件",
    "证件照",
    "生活照",
    "图片",
    "资料",
    "其他",
}

# An unplaced document whose name says it is the unit's own (FORMS.md "Other materials").
UNIT_DOCUMENT_WORDS = ("推荐函", "报送函", "的函", "说明", "目录", "清单", "登记表", "汇总表", "附表2", "附表4")
_PHOTO_EXTENSIONS = {"jpg", "jpeg", "jpe", "png", "heic", "heif", "avif", "gif", "bmp", "webp", "tif", "tiff"}
_VIDEO_EXTENSIONS = {"mp4", "m4v", "mov", "avi", "mkv", "flv", "wmv", "webm", "3gp", "mpg", "mpeg", "ts"}


@dataclass(eq=False)
class Owner:
    """A nominee being assembled, submission by submission."""

    entry: StarEntry | ProjectEntry
    keys: list[str]
    photos: list[PackageFile] = field(default_factory=list)
    videos: list[PackageFile] = field(default_factory=list)
    summary: Summary | None = None
    extra_rows: list = field(default_factory=list)  # the same name listed again in one table
    introduced: bool = False  # a table row, a form or its folder has named it so far
    withdrawn: Withdrawn | None = None
    # (item, submission) of every item delivered, for the file problems it supersedes
    delivered: list[tuple[str, int]] = field(default_factory=list)

    @property
    def is_star(self) -> bool:
        return isinstance(self.entry, StarEntry)

    @property
    def kind(self) -> str:
        return STAR if self.is_star else PROJECT

    def introduce(self, log: SubmissionLog) -> None:
        """The first table row, form or folder that names the nominee: the receipt says it is nominated."""
        if not self.introduced:
            self.introduced = True
            log.changes.append(Change(action=ChangeAction.NOMINATED, nominee=self.entry.name, nominee_kind=self.kind))


def register_rows(table: RegisterTable) -> list:
    return table.star_rows if table.kind == FileKind.REGISTER_STARS else table.project_rows


class Owners:
    """The nominees of one dossier in the order they were named, and the lookups that place files."""

    def __init__(self) -> None:
        self._owners: list[Owner] = []

    def __iter__(self) -> Iterator[Owner]:
        return iter(self._owners)

    def add(self, name: str, *, star: bool) -> Owner:
        entry: StarEntry | ProjectEntry
        if star:
            entry, keys = StarEntry(name=name, registered=False), star_keys(name)
        else:
            entry, keys = ProjectEntry(name=name, registered=False), project_keys(name)
        owner = Owner(entry, keys)
        self._owners.append(owner)
        return owner

    def find(self, name: str | None, *, star: bool) -> Owner | None:
        if not name:
            return None
        key = name_key(name)
        for owner in self._owners:
            if owner.is_star == star and (same_name(owner.entry.name, name) or key in owner.keys):
                return owner
        if not star:  # "海兰江畔农民夜校" on the form, "“海兰江畔”农民夜校" in the table
            for owner in self._owners:
                if not owner.is_star and any(k in key for k in owner.keys[1:]):
                    return owner
        return None

    def discover(self, submissions: list[Submission]) -> None:
        """Everyone any table or form names, in the order tables then forms name them, so a file
        sent before its nominee's table row is still placed when the dossier is rebuilt."""
        for sub in submissions:
            for table in sub.registers:
                for row in register_rows(table):
                    star = table.kind == FileKind.REGISTER_STARS
                    if row.name and self.find(row.name, star=star) is None:
                        self.add(row.name.strip(), star=star)
        for sub in submissions:
            for form in sub.star_forms:
                if form.fields.name and self.find(form.fields.name, star=True) is None:
                    self.add(form.fields.name.strip(), star=True)
            for form in sub.project_forms:
                if form.fields.name and self.find(form.fields.name, star=False) is None:
                    self.add(form.fields.name.strip(), star=False)

    def of_path(self, path: str, *, allow_star: bool = True, allow_project: bool = True) -> Owner | None:
        parts = path.split("/")
        if parts:
            last = parts[-1]
            parts[-1] = last.rsplit(".", 1)[0] if "." in last else last
        stars = {key: owner for owner in self._owners if owner.is_star and allow_star for key in owner.keys}
        projects = [owner for owner in self._owners if not owner.is_star and allow_project]
        for part in reversed(parts):
            folded = fold(part)
            best: tuple[int, Owner] | None = None
            # A person's name only at name boundaries (王丹 is not 王丹丹's); the longest name wins.
            found = names_in(part, stars)
            if found:
                best = (len(found[0]), stars[found[0]])
            for owner in projects:
                for key in owner.keys:
                    if key and key in folded and (best is None or len(key) > best[0]):
                        best = (len(key), owner)
            if best:
                return best[1]
        return None

    def star_folder_name(self, path: str) -> str | None:
        parts = path.split("/")[:-1]
        for i, part in enumerate(parts[:-1]):
            if any(p in part for p in _STAR_PARENTS):
                candidate = parts[i + 1]
                if looks_like_person_name(candidate) and candidate not in _GENERIC_FOLDERS:
                    return candidate
        return None

    def of_summary(self, summary: Summary) -> Owner | None:
        head = fold(summary.text_head)
        best: tuple[int, Owner] | None = None
        for owner in self._owners:
            if owner.is_star:
                continue
            for key in owner.keys:
                if key in head and (best is None or len(key) > best[0]):
                    best = (len(key), owner)
        return best[1] if best else None

    # -- the merge --------------------------------------------------------------------------

    def star_of_folder(self, file: PackageFile) -> Owner | None:
        """The star whose folder (百姓学习之星/<name>/) holds the file, if that star is nominated."""
        name = self.star_folder_name(file.path)
        return self.find(name, star=True) if name else None


def item_of(file: PackageFile) -> str | None:
    """Which checklist item a file was meant to be, by its type or the type its name claims."""
    if file.kind == FileKind.PHOTO:
        return ITEM_PHOTOS
    if file.kind == FileKind.VIDEO:
        return ITEM_VIDEO
    ext = file.name.rsplit(".", 1)[-1].lower() if "." in file.name else ""
    if ext in _PHOTO_EXTENSIONS:
        return ITEM_PHOTOS
    if ext in _VIDEO_EXTENSIONS:
        return ITEM_VIDEO
    return None


def is_unit_document(file: PackageFile) -> bool:
    """A cover letter, contents list or a scan of a whole register: the unit's, not a nominee's."""
    if file.kind not in (FileKind.DOCUMENT, FileKind.SUMMARY):
        return False
    name = file.name
    return any(word in name for word in UNIT_DOCUMENT_WORDS) or is_form_scan(file.path)


def same_bytes(a: PackageFile | None, b: PackageFile | None) -> bool:
    """Two different files of a unit's submissions holding the same bytes (a form or video sent again)."""
    if a is None or b is None or a is b or a.size != b.size:
        return False
    if a.sha256 and b.sha256:
        return a.sha256 == b.sha256
    try:
        return filecmp.cmp(a.local, b.local, shallow=False)
    except OSError:
        return False


# -- where a nominee's file went (the receipt's "本次收到" lines) ------------------------------
WITHDRAWN_REASON = "该推荐对象已撤回，文件已保存但不计入；如需恢复请联系省办公室"


def single_item(owner: Owner, path: str, item: str, replaced: list[str]) -> Placement:
    """A form, video or summary: filed, or in place of the earlier one(s) `replaced` names."""
    return placed(owner, path, Outcome.REPLACED if replaced else Outcome.FILED, item, replaced=replaced)


def withdrawn_item(owner: Owner, path: str, item: str | None) -> Placement:
    return placed(owner, path, Outcome.WITHDRAWN_NOMINEE, item, reason=WITHDRAWN_REASON)


def placed(
    owner: Owner,
    path: str,
    outcome: Outcome,
    item: str | None,
    *,
    replaced: list[str] | None = None,
    reason: str | None = None,
) -> Placement:
    """Where a file of a nominee's went, for the receipt's "本次收到" list."""
    return Placement(
        path=path,
        outcome=outcome,
        nominee=owner.entry.name,
        nominee_kind=owner.kind,
        item=item,
        replaced=replaced or [],
        reason=reason,
    )
