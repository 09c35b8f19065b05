"""Merging a unit's submissions into one dossier and attributing every file to a nominee.

RULES.md "Resubmissions": an item is replaced whole by a later one (a registration
table, a nominee's form, its photo set, its video, its summary), and a nominee missing
from a later table is withdrawn. RULES.md "Matching files to nominees": a file belongs
to a nominee when its path names the nominee (or the project's distinctive part); what
no rule can place is unmatched, never dropped.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from config.campaign import Campaign
from intake.forms.values import year_month_candidates
from intake.models import (
    Dossier,
    FileKind,
    FileProblem,
    PackageFile,
    ProjectEntry,
    ProjectFields,
    ProjectForm,
    RegisterTable,
    StarEntry,
    StarFields,
    StarForm,
    Submission,
    SubmissionMeta,
    Summary,
    YearMonth,
)
from intake.names import fold, looks_like_person_name, project_keys, same_name, star_keys
from intake.unit import UnitResolution

ExemplarMark = Callable[[str | None, Campaign], bool]

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


@dataclass
class _Owner:
    """A nominee being assembled: its entry plus what each submission brought for it."""

    entry: StarEntry | ProjectEntry
    keys: list[str]
    photos: dict[int, list[PackageFile]] = field(default_factory=lambda: defaultdict(list))
    videos: dict[int, list[PackageFile]] = field(default_factory=lambda: defaultdict(list))
    summaries: dict[int, list[Summary]] = field(default_factory=lambda: defaultdict(list))

    @property
    def is_star(self) -> bool:
        return isinstance(self.entry, StarEntry)


def _latest_register(submissions: list[Submission], kind: FileKind) -> RegisterTable | None:
    """The latest submission's table of this kind; several in one submission are joined."""
    for sub in reversed(submissions):
        tables = [r for r in sub.registers if r.kind == kind]
        if not tables:
            continue
        merged = tables[0].model_copy(deep=True)
        for extra in tables[1:]:
            known = {fold(r.name or "") for r in merged.star_rows} | {fold(r.name or "") for r in merged.project_rows}
            merged.star_rows += [r for r in extra.star_rows if fold(r.name or "") not in known]
            merged.project_rows += [r for r in extra.project_rows if fold(r.name or "") not in known]
        return merged
    return None


class _Assembler:
    def __init__(self, submissions: list[Submission], campaign: Campaign, exemplar_mark: ExemplarMark) -> None:
        self.subs = submissions
        self.campaign = campaign
        self.exemplar_mark = exemplar_mark
        self.owners: list[_Owner] = []
        self.problems: list[FileProblem] = []  # found while attributing (files intake left unreported)
        self.star_register = _latest_register(submissions, FileKind.REGISTER_STARS)
        self.project_register = _latest_register(submissions, FileKind.REGISTER_PROJECTS)

    # -- owners ---------------------------------------------------------------------------
    def _add_star(self, name: str, *, registered: bool, row=None) -> _Owner:
        entry = StarEntry(name=name, registered=registered, row=row)
        if row is not None:
            entry.exemplar = self.exemplar_mark(row.remarks, self.campaign)
        owner = _Owner(entry, star_keys(name))
        self.owners.append(owner)
        return owner

    def _add_project(self, name: str, *, registered: bool, row=None) -> _Owner:
        entry = ProjectEntry(name=name, registered=registered, row=row)
        if row is not None:
            entry.exemplar = self.exemplar_mark(row.remarks, self.campaign)
        owner = _Owner(entry, project_keys(name))
        self.owners.append(owner)
        return owner

    def _find(self, name: str | None, *, star: bool) -> _Owner | None:
        if not name:
            return None
        key = fold(name)
        for owner in self.owners:
            if owner.is_star == star and (same_name(owner.entry.name, name) or key in owner.keys):
                return owner
        if not star:  # "海兰江畔农民夜校" on the form, "“海兰江畔”农民夜校" in the table
            for owner in self.owners:
                if not owner.is_star and any(k in key for k in owner.keys[1:]):
                    return owner
        return None

    def _withdrawn(self, submission: int, register: RegisterTable | None) -> bool:
        """Material sent before the current table, for someone the table no longer names."""
        return register is not None and submission < register.submission

    # -- attribution ----------------------------------------------------------------------
    def _owner_of_path(self, path: str, *, allow_star: bool = True, allow_project: bool = True) -> _Owner | None:
        parts = path.split("/")
        if parts:
            last = parts[-1]
            parts[-1] = last.rsplit(".", 1)[0] if "." in last else last
        for part in reversed(parts):
            folded = fold(part)
            best: tuple[int, _Owner] | None = None
            for owner in self.owners:
                if (owner.is_star and not allow_star) or (not owner.is_star and not allow_project):
                    continue
                for key in owner.keys:
                    if key and key in folded and (best is None or len(key) > best[0]):
                        best = (len(key), owner)
            if best:
                return best[1]
        return None

    def _star_folder_name(self, path: str) -> str | None:
        parts = path.split("/")[:-1]
        for i, part in enumerate(parts[:-1]):
            if any(p in part for p in _STAR_PARENTS):
                candidate = parts[i + 1]
                if looks_like_person_name(candidate) and candidate not in _GENERIC_FOLDERS:
                    return candidate
        return None

    def build(self) -> tuple[list[StarEntry], list[ProjectEntry], list[PackageFile]]:
        if self.star_register:
            for row in self.star_register.star_rows:
                self._add_star(row.name or "", registered=True, row=row)
        if self.project_register:
            for row in self.project_register.project_rows:
                self._add_project(row.name or "", registered=True, row=row)

        self._attach_forms()
        for owner in self.owners:
            _resolve_tenth_month(owner.entry)

        unmatched: list[PackageFile] = []
        problem_paths = {p.path for s in self.subs for p in s.problems}
        star_summaries: set[tuple[int, str]] = set()
        for sub in self.subs:
            for file in sub.files:
                if file.kind in (
                    FileKind.REGISTER_STARS,
                    FileKind.REGISTER_PROJECTS,
                    FileKind.STAR_FORM,
                    FileKind.PROJECT_FORM,
                ):
                    continue
                owner = self._owner_of_path(file.path, allow_star=file.kind != FileKind.SUMMARY)
                if owner is None and file.kind in (FileKind.PHOTO, FileKind.VIDEO):
                    owner = self._unregistered_star_folder(file)
                if owner is None and file.kind == FileKind.SUMMARY:
                    # a star's own story (long prose) in the star's folder: the star's material
                    owner = self._owner_of_path(file.path, allow_project=False) or self._star_of_folder(file)
                    if owner is not None:
                        star_summaries.add((sub.index, file.path))
                        continue
                    owner = self._owner_of_summary_text(sub, file)
                if owner is None:
                    if file.path not in problem_paths and not self._is_withdrawn_material(file):
                        unmatched.append(file)
                    continue
                if file.kind == FileKind.PHOTO:
                    owner.photos[sub.index].append(file)
                elif file.kind == FileKind.VIDEO:
                    owner.videos[sub.index].append(file)
                elif file.kind == FileKind.OTHER and file.path not in problem_paths:
                    # intake reports every file it cannot use; one that slipped through is still reported
                    self.problems.append(_unusable(file))
            for summary in sub.summaries:
                if (sub.index, summary.path) in star_summaries:
                    continue
                owner = self._owner_of_path(summary.path, allow_star=False) or self._owner_of_summary(summary)
                if owner is not None:
                    owner.summaries[sub.index].append(summary)

        stars: list[StarEntry] = []
        projects: list[ProjectEntry] = []
        for owner in self.owners:
            entry = owner.entry
            entry.photos = _latest(owner.photos)
            entry.videos = _latest(owner.videos)
            if isinstance(entry, ProjectEntry):
                summaries = _latest(owner.summaries)
                entry.summary = max(summaries, key=lambda s: s.chars) if summaries else None
                projects.append(entry)
            else:
                stars.append(entry)
        return stars, projects, unmatched

    def _attach_forms(self) -> None:
        latest_star: dict[int, StarForm] = {}
        latest_project: dict[int, ProjectForm] = {}
        for sub in self.subs:
            for form in sub.star_forms:
                name = form.fields.name
                owner = self._find(name, star=True) or (
                    None if name else self._owner_of_path(form.path, allow_project=False)
                )
                if owner is None and name:
                    if self._withdrawn(sub.index, self.star_register):
                        continue
                    owner = self._add_star(name.strip(), registered=False)
                if owner is not None:
                    latest_star[id(owner)] = form
                    owner.entry.form = form  # type: ignore[assignment]
            for form in sub.project_forms:
                name = form.fields.name
                owner = self._find(name, star=False) or (
                    None if name else self._owner_of_path(form.path, allow_star=False)
                )
                if owner is None and name:
                    if self._withdrawn(sub.index, self.project_register):
                        continue
                    owner = self._add_project(name.strip(), registered=False)
                if owner is not None:
                    latest_project[id(owner)] = form
                    owner.entry.form = form  # type: ignore[assignment]

    def _unregistered_star_folder(self, file: PackageFile) -> _Owner | None:
        """Photos in a folder named after a person the table does not list: a nominee anyway."""
        name = self._star_folder_name(file.path)
        if name is None or self._withdrawn(file.submission, self.star_register):
            return None
        return self._find(name, star=True) or self._add_star(name, registered=False)

    def _star_of_folder(self, file: PackageFile) -> _Owner | None:
        """The star whose folder (百姓学习之星/<name>/) holds the file, if that star is nominated."""
        name = self._star_folder_name(file.path)
        return self._find(name, star=True) if name else None

    def _is_withdrawn_material(self, file: PackageFile) -> bool:
        return self._star_folder_name(file.path) is not None and self._withdrawn(file.submission, self.star_register)

    def _owner_of_summary(self, summary: Summary) -> _Owner | None:
        head = fold(summary.text_head)
        best: tuple[int, _Owner] | None = None
        for owner in self.owners:
            if owner.is_star:
                continue
            for key in owner.keys:
                if key in head and (best is None or len(key) > best[0]):
                    best = (len(key), owner)
        return best[1] if best else None

    def _owner_of_summary_text(self, sub: Submission, file: PackageFile) -> _Owner | None:
        for summary in sub.summaries:
            if summary.path == file.path:
                return self._owner_of_summary(summary)
        return None


def _resolve_tenth_month(entry: StarEntry | ProjectEntry) -> None:
    """Read the table's 1984.1 as October when the nominee's own form says 1984.10 (FORMS.md).

    Excel keeps "1984.10" typed into a number cell as the number 1984.1, which reads as
    January; the form (a Word file) keeps what was typed, so it tells the two apart. The
    table's row is corrected in place, so every rule and the stored nominee see the same month.
    """
    row, form = entry.row, entry.form
    if row is None or form is None:
        return
    if isinstance(row, StarFields) and isinstance(form.fields, StarFields):
        row.birth_parsed = _the_month_meant(row.birth, row.birth_parsed, form.fields.birth_parsed)
    elif isinstance(row, ProjectFields) and isinstance(form.fields, ProjectFields):
        row.founded_parsed = _the_month_meant(row.founded, row.founded_parsed, form.fields.founded_parsed)


def _the_month_meant(written: str | None, parsed: YearMonth | None, on_form: YearMonth | None) -> YearMonth | None:
    if written is None or on_form is None:
        return parsed
    candidates = year_month_candidates(written)
    return on_form if len(candidates) > 1 and on_form in candidates else parsed


def _unusable(file: PackageFile) -> FileProblem:
    return FileProblem(
        code="FILE_UNSUPPORTED",
        path=file.path,
        reason="文件格式无法识别，办公室将人工查看",
        params={"type": file.sniffed},
        submission=file.submission,
    )


def _latest(per_submission: dict[int, list]) -> list:
    if not per_submission:
        return []
    return per_submission[max(per_submission)]


def build_dossier(
    submissions: list[Submission],
    campaign: Campaign,
    unit: UnitResolution,
    exemplar_mark: ExemplarMark,
    *,
    paper_received: bool | None = None,
    other_unit_nominees: dict[str, list[str]] | None = None,
) -> Dossier:
    assembler = _Assembler(submissions, campaign, exemplar_mark)
    stars, projects, unmatched = assembler.build()
    return Dossier(
        unit=unit.name,
        unit_kind=unit.kind.value,
        unit_known=unit.known,
        sender_registered=unit.sender_registered,
        submissions=[
            SubmissionMeta(
                index=s.index,
                source=s.source,
                arrived_at=s.arrived_at,
                message_id=s.message_id,
                sender=s.sender,
                subject=s.subject,
            )
            for s in submissions
        ],
        star_register=assembler.star_register,
        project_register=assembler.project_register,
        stars=stars,
        projects=projects,
        problems=[p for s in submissions for p in s.problems] + assembler.problems,
        unmatched=unmatched,
        links=[link for s in submissions for link in s.links],
        other_unit_nominees=other_unit_nominees or {},
        paper_received=paper_received,
    )
