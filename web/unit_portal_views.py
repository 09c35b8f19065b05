"""What a unit's own page shows, cut from the office's view of the unit (`web.views.unit_page`).

The office's view is computed once and read here, so the page's marks, findings and measured values
are the office's and the receipts' to the letter. Only what the unit may read is taken: its state,
its nominees' checklists, findings and files, what it withdrew. The office's notes, the raw mails,
the outbox, the contacts and the nominees' personal fields are left behind, not hidden by a template.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from config.campaign import Campaign
from intake.models import NOMINEE_KIND_ZH, Dossier, PackageFile, ProjectEntry, StarEntry
from intake.withdrawal import withdrawn_by_unit, withdrawn_by_zh
from storage.repo import Store
from validators.checklist import Item
from web import views
from web.office_views import size_text

PREVIEW_LINES = 3  # a document's first lines shown under its name
PREVIEW_CHARS = 60  # per line: a phone screen's width, not the whole paragraph
PHOTO, VIDEO, DOCUMENT = "photo", "video", "document"


@dataclass
class PortalFile:
    """One file of the dossier as the unit sees it, with what it may do to it."""

    file_id: int | None  # the stored file (thumbnail, remove, replace); None: not found in the store
    name: str
    kind: str  # PHOTO, VIDEO, DOCUMENT
    item_zh: str  # 照片, 视频, 推荐表, 工作总结, 盖章扫描件, 单位文件, 未归类文件
    detail: str  # measured: "1920×1080 JPEG，1.2 MB", "MP4，h264，1280×720 …，2分30秒 …，12.0 MB"
    lines: list[str] = field(default_factory=list)  # a document's first lines the intake read
    actionable: bool = False  # the desk may take it out or replace it (`Desk.removable_file_ids`)
    video: views.VideoView | None = None  # for a video: what the compliant-copy partial reads


@dataclass
class PortalNominee:
    kind: str
    heading: str
    name: str
    exemplar: bool
    mark: str
    state: str  # error, warning, clean (the card's colour)
    checklist: list[Item]
    findings: list[views.FindingView]
    files: list[PortalFile]


@dataclass
class PortalWithdrawn:
    heading: str
    name: str
    by_zh: str
    restorable: bool  # the unit withdrew it itself: it may restore it on its page


@dataclass
class PortalPage:
    unit: str
    state: str  # views.STATE_ZH's keys
    state_zh: str
    late: bool
    submissions: int
    last_arrival: str
    check_failed: bool
    general: list[views.FindingView]
    file_findings: list[views.FindingView]
    nominees: list[PortalNominee]
    other_files: list[PortalFile]  # unit documents and files placed with nobody
    withdrawn: list[PortalWithdrawn]
    links: list[views.LinkView] = field(default_factory=list)  # large-file links its mails gave

    @property
    def nominee_names(self) -> list[str]:
        return [n.name for n in self.nominees]

    @property
    def videos(self) -> list[views.VideoView]:
        return [f.video for n in self.nominees for f in n.files if f.video is not None]


def portal_page(store: Store, campaign: Campaign, unit: str, removable: set[int]) -> PortalPage:
    """The unit's page data; `removable` the file ids the desk lets the page remove or replace."""
    office = views.unit_page(store, campaign, unit)
    row = office.row
    state = row.state if row else "none"
    page = PortalPage(
        unit=unit,
        state=state,
        state_zh=views.STATE_ZH.get(state, ""),
        late=bool(row and row.late),
        submissions=row.submissions if row else 0,
        last_arrival=row.last_arrival if row else "—",
        check_failed=office.check_error is not None,
        general=office.general,
        file_findings=office.file_findings,
        nominees=[],
        other_files=[],
        withdrawn=[],
        links=office.links,
    )
    dossier = office.dossier
    if dossier is None:
        return page
    ids = office.file_ids
    entries: list[StarEntry | ProjectEntry] = [*dossier.stars, *dossier.projects]
    for entry, shown in zip(entries, office.nominees, strict=True):  # views lists stars, then projects
        files = [_photo(p, v, removable) for p, v in zip(entry.photos, shown.photos, strict=True)]
        files += [_video(p, v, removable) for p, v in zip(entry.videos, shown.videos, strict=True)]
        files = _documents(entry, dossier, ids, removable) + files
        page.nominees.append(
            PortalNominee(
                kind=shown.kind,
                heading=shown.heading,
                name=shown.name,
                exemplar=shown.exemplar,
                mark=shown.mark,
                state=shown.state,
                checklist=shown.checklist,
                findings=shown.findings,
                files=files,
            )
        )
    page.other_files = [_document(f, "单位文件", ids, removable) for f in dossier.unit_documents]
    page.other_files += [_document(f, "未归类文件", ids, removable) for f in dossier.unmatched]
    page.withdrawn = [
        PortalWithdrawn(NOMINEE_KIND_ZH[w.kind], w.name, withdrawn_by_zh(w.by), withdrawn_by_unit(w))
        for w in dossier.withdrawn
    ]
    return page


def _actionable(file_id: int | None, removable: set[int]) -> bool:
    return file_id is not None and file_id in removable


def _photo(f: PackageFile, shown: views.PhotoView, removable: set[int]) -> PortalFile:
    detail = f"{shown.detail}，{size_text(f.size)}"
    return PortalFile(shown.file_id, f.name, PHOTO, "照片", detail, actionable=_actionable(shown.file_id, removable))


def _video(f: PackageFile, shown: views.VideoView, removable: set[int]) -> PortalFile:
    detail = f"{shown.detail}，{size_text(f.size)}"
    return PortalFile(
        shown.file_id, f.name, VIDEO, "视频", detail, actionable=_actionable(shown.file_id, removable), video=shown
    )


def _document(f: PackageFile, item_zh: str, ids: dict[tuple[int, str], int], removable: set[int]) -> PortalFile:
    file_id = ids.get((f.submission, f.path))
    kind = PHOTO if f.photo is not None else VIDEO if f.video is not None else DOCUMENT
    return PortalFile(file_id, f.name, kind, item_zh, size_text(f.size), actionable=_actionable(file_id, removable))


def _documents(
    entry: StarEntry | ProjectEntry, dossier: Dossier, ids: dict[tuple[int, str], int], removable: set[int]
) -> list[PortalFile]:
    """The nominee's form, summary and stamped scans, each with the first lines the intake read."""
    found: list[PortalFile] = []
    if entry.form is not None:
        file_id = ids.get((entry.form.submission, entry.form.path))
        lines = ["扫描件（自动识别）"] if entry.form.scanned else ["已读取表中内容"]
        found.append(_named(file_id, entry.form.path, "推荐表", lines, removable))
    summary = getattr(entry, "summary", None)
    if summary is not None:
        file_id = ids.get((summary.submission, summary.path))
        lines = [f"共 {summary.chars} 字", *first_lines(summary.text_head)]
        found.append(_named(file_id, summary.path, "工作总结", lines, removable))
    form_path = entry.form.path if entry.form else None
    for path in entry.scans:
        if path != form_path:
            found.append(_named(_id_of_path(ids, path), path, "盖章扫描件", [], removable))
    return found


def _named(file_id: int | None, path: str, item_zh: str, lines: list[str], removable: set[int]) -> PortalFile:
    name = path.rsplit("/", 1)[-1]
    return PortalFile(file_id, name, DOCUMENT, item_zh, "", lines, _actionable(file_id, removable))


def _id_of_path(ids: dict[tuple[int, str], int], path: str) -> int | None:
    """A scan is named by its path only: the latest submission that has it."""
    found = [(index, file_id) for (index, p), file_id in ids.items() if p == path]
    return max(found)[1] if found else None


def first_lines(text: str) -> list[str]:
    """The first lines of what the intake read; it keeps the head with its line breaks folded into
    spaces, and Chinese prose has none of its own, so a space is where a line or paragraph ended."""
    lines = [line for line in re.split(r"\s+", text) if line]
    return [line if len(line) <= PREVIEW_CHARS else line[:PREVIEW_CHARS] + "…" for line in lines[:PREVIEW_LINES]]
