"""Stamped scans of forms as OCR hands them on (`StarForm`/`ProjectForm` with `scanned=True`),
inside hand-built submissions: the tests of what happens after reading (the merge, the rules,
the marks) need no OCR.

`submission_of` turns the complete city dossier of tests.support.dossiers into the mail that
would carry it, so `build` (the real merge) gives a dossier that no rule finds anything in,
with a log a receipt can be written from; a test then adds or swaps scans and sees what changes.
"""

from __future__ import annotations

from pathlib import Path

from config.campaign import Campaign, UnitKind
from intake.dossier import build_dossier
from intake.models import (
    Dossier,
    FileKind,
    PackageFile,
    ProjectForm,
    StarForm,
    Submission,
)
from intake.unit import UnitResolution
from tests.support.dossiers import ROOT, SENDER, UNIT, city_dossier

Form = StarForm | ProjectForm


def sent(path: str, kind: FileKind, index: int, *, sha: str | None = None, sniffed: str = "pdf") -> PackageFile:
    """A file of submission `index`; two files with the same `sha` hold the same bytes."""
    return PackageFile(
        path=path,
        local=Path("/nonexistent") / path,
        size=1000,
        sniffed=sniffed,
        kind=kind,
        sha256=sha or f"{index}:{path}",
        submission=index,
    )


def scan_of(form: Form, path: str, index: int, *, unread: tuple[str, ...] = (), sha: str | None = None) -> Form:
    """The stamped scan of `form` read by OCR: its fields, less those in `unread` (left empty, as
    OCR leaves a field it cannot read), at `path` in submission `index`."""
    fields = form.fields.model_copy(update=dict.fromkeys(unread))
    update = {"path": path, "submission": index, "scanned": True, "fields": fields}
    return form.model_copy(update=update, deep=True)


def with_forms(sub: Submission, *forms: Form, sha: str | None = None, first: bool = False) -> Submission:
    """`sub` carrying `forms` too (each with its file, of the kind a reader gives it), after the
    forms it has, or before them (`first`)."""
    for form in forms:
        star = isinstance(form, StarForm)
        read = sub.star_forms if star else sub.project_forms
        read.insert(0 if first else len(read), form)  # type: ignore[arg-type]
        kind = FileKind.STAR_FORM if star else FileKind.PROJECT_FORM
        sniffed = "pdf" if form.scanned else "docx"
        sub.files.append(sent(form.path, kind, sub.index, sha=sha, sniffed=sniffed))
    return sub


def mail(index: int, subject: str = "补充材料") -> Submission:
    """An empty later mail of the unit, to add forms to."""
    return Submission(index=index, source=f"{index + 1}.eml", sender=SENDER, subject=subject)


def submission_of(campaign: Campaign, *, scanned_only: dict[str, tuple[str, ...]] | None = None) -> Submission:
    """The first mail of the complete city dossier: its tables, forms, photos, videos and summaries.

    `scanned_only`: nominees (by name) whose Word form is not sent, only its stamped scan, with
    the fields OCR could not read."""
    d = city_dossier(campaign)
    sub = Submission(index=0, source="1.eml", sender=SENDER, subject=ROOT, arrived_at=d.submissions[0].arrived_at)
    sub.registers = [r for r in (d.star_register, d.project_register) if r is not None]
    sub.files += [sent(r.path, r.kind, 0, sniffed="xlsx") for r in sub.registers]
    for entry in [*d.stars, *d.projects]:
        assert entry.form is not None
        form: Form = entry.form
        if scanned_only is not None and entry.name in scanned_only:
            form = scan_of(form, scan_path(form), 0, unread=scanned_only[entry.name])
        with_forms(sub, form)
        sub.files += [f.model_copy(update={"sha256": f"0:{f.path}"}) for f in (*entry.photos, *entry.videos)]
    for project in d.projects:
        assert project.summary is not None
        sub.summaries.append(project.summary)
        sub.files.append(sent(project.summary.path, FileKind.SUMMARY, 0, sniffed="docx"))
    return sub


def scan_path(form: Form) -> str:
    """Where a unit puts the stamped scan of a form: beside it, named as a scan."""
    return form.path.rsplit(".", 1)[0] + "（盖章扫描件）.pdf"


def word_form(campaign: Campaign, name: str) -> Form:
    """The Word form of a nominee of the complete city dossier."""
    d = city_dossier(campaign)
    entry = next(e for e in [*d.stars, *d.projects] if e.name == name)
    assert entry.form is not None
    return entry.form


def build(campaign: Campaign, *submissions: Submission) -> Dossier:
    """The real merge, as `nomdesk check` runs it for a known city unit."""
    unit = UnitResolution(name=UNIT, kind=UnitKind.CITY, known=True)
    dossier = build_dossier(list(submissions), campaign, unit, lambda _remarks, _campaign: False)
    for meta in dossier.submissions:
        meta.arrived_at = meta.arrived_at or submissions[0].arrived_at
    return dossier
