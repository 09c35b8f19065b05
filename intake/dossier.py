"""Merging a unit's submissions into one dossier and attributing every file to a nominee.

RULES.md "Resubmissions: nothing a unit sent disappears unnamed": single items (a
nominee's form, a project's summary, a nominee's video) are replaced by a later one;
photos add (the same bytes are ignored, the same file name replaces that photo, and only
a complete new set that would overflow replaces the old set); registration tables merge
by nominee, and a nominee a later table leaves out stays nominated (REGISTER_OMITS;
intake.register_merge). Withdrawal is explicit only, and so is taking one file out (a record the
desk wrote for the unit's page, intake.removals). Every file of every submission gets a
`Placement` in that submission's log, so a receipt can say what each mail did.

RULES.md "Matching files to nominees": a file belongs to a nominee when its path names the
nominee (or the project's distinctive part); what no rule can place is unmatched, never
dropped; cover letters and other unit-level documents belong to the unit.
"""

from __future__ import annotations

from pathlib import Path

from config.campaign import Campaign
from intake.attribution import (
    Owner,
    Owners,
    is_unit_document,
    item_of,
    placed,
    same_bytes,
    single_item,
    withdrawn_item,
)
from intake.forms.values import resolve_tenth_month
from intake.media.photo import looks_like_id_photo
from intake.models import (
    ITEM_FORM,
    ITEM_PHOTOS,
    ITEM_SUMMARY,
    ITEM_VIDEO,
    Change,
    ChangeAction,
    Dossier,
    FileKind,
    FileProblem,
    Outcome,
    PackageFile,
    Placement,
    ProjectEntry,
    ProjectForm,
    StarEntry,
    StarForm,
    Submission,
    SubmissionLog,
    SubmissionMeta,
    Summary,
    Withdrawn,
)
from intake.names import fold
from intake.paper import paper_posted
from intake.photoset import merge_photos
from intake.register_merge import ExemplarMark, RegisterMerge
from intake.removals import Removals
from intake.unit import UnitResolution
from intake.volumes import missing_part_problems, volume_placements
from intake.withdrawal import joined_names

UNPLACED_REASON = "文件名和所在文件夹名中都没有推荐对象的姓名或项目名称"
UNNAMED_FORM_REASON = "推荐表中未填写姓名或项目名称，文件名中也没有"
UNREAD_SCAN_REASON = "推荐表扫描件中未能识别出姓名或项目名称，文件名中也没有；请在文件名中注明"


class _Assembler:
    def __init__(self, submissions: list[Submission], campaign: Campaign, exemplar_mark: ExemplarMark) -> None:
        self.subs = submissions
        self.campaign = campaign
        self.owners = Owners()
        self.registers = RegisterMerge(self.owners, campaign, exemplar_mark)
        self.problems: list[FileProblem] = []  # found while attributing (files intake left unreported)
        self.unmatched: list[PackageFile] = []
        self.unit_documents: list[PackageFile] = []
        self.log: list[SubmissionLog] = []
        self.retired: set[str] = set()  # photos and videos replaced or set aside
        self.damaged = {p.path for s in submissions for p in s.problems if p.code == "FILE_UNREADABLE"}
        self.files = {(f.submission, f.path): f for s in submissions for f in s.files}
        self.removals = Removals(
            submissions, self.owners, self.unit_documents, self.unmatched, self.files, self.retired
        )

    # -- owners ---------------------------------------------------------------------------
    def build(self) -> tuple[list[StarEntry], list[ProjectEntry]]:
        self.owners.discover(self.subs)
        for sub in self.subs:
            log = SubmissionLog(index=sub.index, ignored=list(sub.ignored))
            self.log.append(log)
            self._apply_withdrawals(sub, log)
            self.removals.apply(sub, log)  # a replacement's old file leaves before its new one comes
            self.registers.apply(sub, log)
            self._apply_forms(sub, log)
            self._apply_files(sub, log)
            self.removals.name_replacements(log)
            # volumes first: "分卷已合并解压" heads the files the set held (intake/volumes.py)
            log.placements[:0] = volume_placements(sub, self.subs)
        stars: list[StarEntry] = []
        projects: list[ProjectEntry] = []
        for owner in self.owners:
            if not owner.introduced or owner.withdrawn is not None:
                continue
            entry = owner.entry
            resolve_tenth_month(entry)
            entry.photos = list(owner.photos)
            entry.videos = list(owner.videos)
            if isinstance(entry, ProjectEntry):
                entry.summary = owner.summary
                projects.append(entry)
            else:
                stars.append(entry)  # type: ignore[arg-type]
        self.unmatched = [f for f in self.unmatched if not self._placed_later(f)]
        return stars, projects

    def _placed_later(self, file: PackageFile) -> bool:
        """An unplaced photo whose very bytes a later submission sent under a nominee's name."""
        return bool(file.sha256) and any(
            p.sha256 == file.sha256 and p.submission > file.submission
            for o in self.owners
            if o.introduced and o.withdrawn is None
            for p in o.photos
        )

    def _nominee(self, name: str) -> Owner | None:
        """The star or project a withdrawal or restoration names."""
        return self.owners.find(name, star=True) or self.owners.find(name, star=False)

    def _apply_withdrawals(self, sub: Submission, log: SubmissionLog) -> None:
        by = sub.actor or "unit"
        for name in joined_names(sub.withdraw, lambda n: self._nominee(n) is not None):
            owner = self._nominee(name)
            if owner is None or not owner.introduced or owner.withdrawn is not None:
                log.changes.append(Change(action=ChangeAction.WITHDRAW_UNKNOWN, nominee=name, by=by))
                continue
            owner.withdrawn = Withdrawn(name=owner.entry.name, kind=owner.kind, by=by, submission=sub.index)
            log.changes.append(
                Change(action=ChangeAction.WITHDRAWN, nominee=owner.entry.name, nominee_kind=owner.kind, by=by)
            )
        for name in sub.restore:
            owner = self._nominee(name)
            if owner is None or owner.withdrawn is None:
                continue
            owner.withdrawn = None
            log.changes.append(
                Change(action=ChangeAction.RESTORED, nominee=owner.entry.name, nominee_kind=owner.kind, by=by)
            )

    def _apply_forms(self, sub: Submission, log: SubmissionLog) -> None:
        for forms, star in ((sub.star_forms, True), (sub.project_forms, False)):
            # Word forms first: a scan sent beside one is then its stamped copy, whatever the order
            for form in sorted(forms, key=lambda f: f.scanned):
                owner = self._form_owner(form, star)
                if owner is None:
                    reason = UNREAD_SCAN_REASON if form.scanned else UNNAMED_FORM_REASON
                    log.placements.append(
                        Placement(path=form.path, outcome=Outcome.UNPLACED, item=ITEM_FORM, reason=reason)
                    )
                    self.unmatched.append(_form_file(sub, form.path))
                    continue
                if owner.withdrawn is not None:
                    log.placements.append(withdrawn_item(owner, form.path, ITEM_FORM))
                    continue
                if form.scanned and form.path not in owner.entry.scans:
                    owner.entry.scans.append(form.path)
                old = owner.entry.form
                if old is not None and self._same_bytes((old.submission, old.path), (sub.index, form.path)):
                    log.placements.append(placed(owner, form.path, Outcome.SAME, ITEM_FORM))
                    continue
                if form.scanned and old is not None and not old.scanned:
                    # the Word form stays the form; its stamped scan is filed beside it, replacing nothing
                    beside = placed(owner, form.path, Outcome.FILED, None)
                    log.placements.append(beside.model_copy(update={"scan": True}))
                    continue
                replaced = [old.path] if old is not None and old.submission != sub.index else []
                owner.entry.form = form  # type: ignore[assignment]
                owner.delivered.append((ITEM_FORM, sub.index))
                owner.introduce(log)
                placement = single_item(owner, form.path, ITEM_FORM, replaced)
                log.placements.append(placement.model_copy(update={"scan": form.scanned}))

    def _form_owner(self, form: StarForm | ProjectForm, star: bool) -> Owner | None:
        """The nominee a form is for: by the name it gives, else by its path. A scan's name is read
        by OCR and may be misread, so the path the unit gave it is asked first."""
        name = form.fields.name
        if name and not form.scanned:
            return self.owners.find(name, star=star)
        by_path = self.owners.of_path(form.path, allow_star=star, allow_project=not star)
        return by_path or self.owners.find(name, star=star)

    def _same_bytes(self, held: tuple[int, str], sent: tuple[int, str]) -> bool:
        """Whether a file sent again is byte for byte the one already held (a zip sent twice)."""
        return same_bytes(self.files.get(held), self.files.get(sent))

    def _apply_files(self, sub: Submission, log: SubmissionLog) -> None:
        problem_paths = {p.path: p for p in sub.problems}
        form_kinds = (FileKind.REGISTER_STARS, FileKind.REGISTER_PROJECTS, FileKind.STAR_FORM, FileKind.PROJECT_FORM)
        photos: dict[int, tuple[Owner, list[PackageFile]]] = {}
        videos: dict[int, tuple[Owner, list[PackageFile]]] = {}
        summary_files: dict[str, PackageFile] = {}
        for file in sub.files:
            if file.kind in form_kinds:
                continue
            if file.kind == FileKind.SUMMARY:
                star_owner = self.owners.of_path(file.path, allow_project=False) or self.owners.star_of_folder(file)
                if star_owner is not None and self.owners.of_path(file.path, allow_star=False) is None:
                    # a star's own story (long prose) in the star's folder: the star's material
                    log.placements.append(placed(star_owner, file.path, Outcome.FILED, None))
                else:
                    summary_files[file.path] = file
                continue
            owner = self.owners.of_path(file.path)
            if owner is None and file.kind in (FileKind.PHOTO, FileKind.VIDEO):
                owner = self._star_folder_owner(file, log)
            problem = problem_paths.get(file.path)
            if problem is not None:
                log.placements.append(self._unusable(problem, owner, file))
                if owner is None or file.kind not in (FileKind.PHOTO, FileKind.VIDEO):
                    continue
                # a damaged photo or video still counts as sent for its nominee (its finding says why)
            if owner is None:
                self._place_unowned(file, log)
                continue
            if owner.withdrawn is not None:
                if problem is None:
                    log.placements.append(withdrawn_item(owner, file.path, item_of(file)))
                continue
            if file.kind == FileKind.PHOTO:
                photos.setdefault(id(owner), (owner, []))[1].append(file)
            elif file.kind == FileKind.VIDEO:
                videos.setdefault(id(owner), (owner, []))[1].append(file)
            elif file.kind == FileKind.OTHER and problem is None:
                # intake reports every file it cannot use; one that slipped through is still reported
                unusable = _unusable(file)
                self.problems.append(unusable)
                log.placements.append(self._unusable(unusable, owner, file))
            elif problem is None:
                log.placements.append(placed(owner, file.path, Outcome.FILED, None))  # e.g. a scan of its form
        for owner, files in photos.values():
            self._add_photos(owner, files, sub, log, problem_paths)
        for owner, files in videos.values():
            self._replace_videos(owner, files, sub, log, problem_paths)
        self._apply_summaries(sub, log, summary_files)
        done = {p.path for p in log.placements}
        for problem in sub.problems:  # archives refused or damaged entries: no file to place
            if problem.path not in done:
                log.placements.append(self._unusable(problem, None, None))

    def _unusable(self, problem: FileProblem, owner: Owner | None, file: PackageFile | None) -> Placement:
        item = item_of(file) if file is not None else None
        problem.nominee, problem.item = (owner.entry.name, item) if owner is not None else (None, None)
        return Placement(
            path=problem.path,
            outcome=Outcome.UNUSABLE,
            nominee=owner.entry.name if owner else None,
            nominee_kind=owner.kind if owner else None,
            item=item,
            reason=problem.reason,
        )

    def _place_unowned(self, file: PackageFile, log: SubmissionLog) -> None:
        if is_unit_document(file):
            self.unit_documents.append(file)
            log.placements.append(Placement(path=file.path, outcome=Outcome.UNIT_DOCUMENT))
            return
        self.unmatched.append(file)
        log.placements.append(Placement(path=file.path, outcome=Outcome.UNPLACED, reason=UNPLACED_REASON))

    def _star_folder_owner(self, file: PackageFile, log: SubmissionLog) -> Owner | None:
        """Photos in a folder named after a person no table lists: a nominee anyway."""
        name = self.owners.star_folder_name(file.path)
        if name is None:
            return None
        owner = self.owners.find(name, star=True) or self.owners.add(name, star=True)
        if owner.withdrawn is None:
            owner.introduce(log)
        return owner

    def _photo_range(self, owner: Owner) -> tuple[int, int]:
        base = self.campaign.star.photos if owner.is_star else self.campaign.project.photos
        if owner.entry.exemplar:
            extra = self.campaign.exemplar.extra_photos
            return base.min + extra.min, base.max + extra.max
        return base.min, base.max

    def _add_photos(
        self,
        owner: Owner,
        files: list[PackageFile],
        sub: Submission,
        log: SubmissionLog,
        problems: dict[str, FileProblem],
    ) -> None:
        """Photos add (intake.photoset): each sent photo's place goes into the log."""
        low, high = self._photo_range(owner)
        spec = self.campaign.star.id_photo
        essential = (lambda f: looks_like_id_photo(f.photo, spec)) if owner.is_star else None
        merged = merge_photos(owner.photos, files, low, high, self.damaged, essential)
        owner.photos = merged.photos
        self.retired.update(merged.retired)
        if merged.changed:
            owner.delivered.append((ITEM_PHOTOS, sub.index))
        if merged.set_aside:
            log.changes.append(
                Change(
                    action=ChangeAction.SET_ASIDE,
                    nominee=owner.entry.name,
                    nominee_kind=owner.kind,
                    paths=merged.set_aside,
                )
            )
        for file, outcome, replaced in merged.outcomes:
            if file.path in problems:
                continue  # already placed as unusable
            log.placements.append(placed(owner, file.path, outcome, ITEM_PHOTOS, replaced=replaced))

    def _replace_videos(
        self,
        owner: Owner,
        files: list[PackageFile],
        sub: Submission,
        log: SubmissionLog,
        problems: dict[str, FileProblem],
    ) -> None:
        """A nominee's video is a single item: a later one replaces it (the same bytes again change nothing)."""
        held = [(v.submission, v.path) for v in owner.videos]
        if all(any(self._same_bytes(h, (f.submission, f.path)) for h in held) for f in files):
            log.placements += [placed(owner, f.path, Outcome.SAME, ITEM_VIDEO) for f in files if f.path not in problems]
            return
        old = [v.path for v in owner.videos]
        self.retired.update(old)
        owner.videos = list(files)
        owner.delivered.append((ITEM_VIDEO, sub.index))
        for file in files:
            if file.path in problems:
                continue
            log.placements.append(single_item(owner, file.path, ITEM_VIDEO, old))

    def _apply_summaries(self, sub: Submission, log: SubmissionLog, files: dict[str, PackageFile]) -> None:
        """A project's summary is a single item: the longest of this submission's replaces any earlier."""
        best: dict[int, tuple[Owner, Summary]] = {}
        extra: list[tuple[Owner, Summary]] = []
        for summary in sub.summaries:
            if summary.path not in files:
                continue  # a star's story, placed with the star
            owner = self.owners.of_path(summary.path, allow_star=False) or self.owners.of_summary(summary)
            if owner is None:
                self._place_unowned(files[summary.path], log)
                continue
            if owner.withdrawn is not None:
                log.placements.append(withdrawn_item(owner, summary.path, ITEM_SUMMARY))
                continue
            current = best.get(id(owner))
            if current is None or summary.chars > current[1].chars:
                if current is not None:
                    extra.append(current)
                best[id(owner)] = (owner, summary)
            else:
                extra.append((owner, summary))
        for owner, summary in best.values():
            old = owner.summary
            if old is not None and self._same_bytes((old.submission, old.path), (sub.index, summary.path)):
                log.placements.append(placed(owner, summary.path, Outcome.SAME, ITEM_SUMMARY))
                continue
            owner.summary = summary
            owner.delivered.append((ITEM_SUMMARY, sub.index))
            replaced = [old.path] if old is not None else []
            log.placements.append(single_item(owner, summary.path, ITEM_SUMMARY, replaced))
        for owner, summary in extra:  # a shorter second summary in the same submission
            log.placements.append(placed(owner, summary.path, Outcome.FILED, None))

    # -- what is still open -----------------------------------------------------------------
    def open_problems(self) -> list[FileProblem]:
        """Every file problem, less those a later delivery of the same item made moot, and those
        of withdrawn nominees (their files are kept, not checked)."""
        owners = {o.entry.name: o for o in self.owners}
        problems: list[FileProblem] = []
        for problem in [p for s in self.subs for p in s.problems] + self.problems:
            owner = owners.get(problem.nominee or "")
            if owner is not None and (owner.withdrawn is not None or self._made_moot(problem, owner)):
                continue
            problems.append(problem)
        return problems

    def _made_moot(self, problem: FileProblem, owner: Owner) -> bool:
        """A damaged file stops mattering once what it was meant to be has come whole: a later
        form, video or summary, a photo of the same name, or a photo set that replaced it."""
        if problem.path in self.retired:
            return True
        if problem.item == ITEM_PHOTOS:
            name = fold(problem.path.rsplit("/", 1)[-1])
            return any(fold(p.name) == name and p.submission > problem.submission for p in owner.photos)
        return problem.item is not None and any(
            item == problem.item and index > problem.submission for item, index in owner.delivered
        )

    def withdrawn_entries(self) -> list[Withdrawn]:
        return [o.withdrawn for o in self.owners if o.withdrawn is not None]


def _form_file(sub: Submission, path: str) -> PackageFile:
    found = next((f for f in sub.files if f.path == path), None)
    if found is not None:
        return found
    return PackageFile(path=path, local=Path(path), size=0, sniffed="unknown", submission=sub.index)


def _unusable(file: PackageFile) -> FileProblem:
    return FileProblem(
        code="FILE_UNSUPPORTED",
        path=file.path,
        reason="文件格式无法识别",
        params={"type": file.sniffed},
        submission=file.submission,
    )


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
    stars, projects = assembler.build()
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
                actor=s.actor,
            )
            for s in submissions
        ],
        star_register=assembler.registers.merged(FileKind.REGISTER_STARS),
        project_register=assembler.registers.merged(FileKind.REGISTER_PROJECTS),
        stars=stars,
        projects=projects,
        problems=[*assembler.open_problems(), *missing_part_problems(submissions)],
        unmatched=assembler.unmatched,
        unit_documents=assembler.unit_documents,
        withdrawn=assembler.withdrawn_entries(),
        log=assembler.log,
        links=[link for s in submissions for link in s.links],
        other_unit_nominees=other_unit_nominees or {},
        paper_received=paper_received,
        paper_posted=paper_posted(submissions, campaign),
    )
