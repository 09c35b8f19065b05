"""`nomdesk check`: read packages, merge them into one dossier, run every rule.

Offline and pure apart from reading the given paths: no data directory, no database.
The service calls the same `check_submissions` on what it stored.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from config.campaign import Campaign, submission_ref
from intake.dossier import build_dossier
from intake.models import (
    Dossier,
    FileProblem,
    PackageFile,
    ProjectEntry,
    StarEntry,
    Submission,
    SubmissionLog,
    SubmissionMeta,
)
from intake.package import read_submission
from intake.source import SourceUnreadable
from intake.unit import UnitResolution, resolve_unit
from intake.volume_join import join_volume_sets
from validators import check_dossier, finding_to_json
from validators.result import CheckResult
from validators.rules.exemplar import is_exemplar_mark


def check_submissions(
    submissions: list[Submission],
    campaign: Campaign,
    *,
    unit: UnitResolution | None = None,
    explicit_unit: str | None = None,
    paper_received: bool | None = None,
    other_unit_nominees: dict[str, list[str]] | None = None,
    input_problems: list[FileProblem] | None = None,
) -> CheckResult:
    """Merge, attribute and run every rule; `input_problems` are inputs that could not be read at all."""
    resolution = unit or resolve_unit(submissions, campaign, explicit_unit)
    dossier = build_dossier(
        submissions,
        campaign,
        resolution,
        is_exemplar_mark,
        paper_received=paper_received,
        other_unit_nominees=other_unit_nominees,
    )
    dossier.problems = [*(input_problems or []), *dossier.problems]
    short = campaign.short_name(dossier.unit)
    for position, meta in enumerate(dossier.submissions, start=1):  # offline: in the order of the PATHs
        meta.ref = meta.ref or submission_ref(short, position)
    run = check_dossier(dossier, campaign)  # a rule that raises is kept as a failure, never a silent pass
    return CheckResult(dossier=dossier, findings=run.findings, rule_errors=run.failures)


def check_paths(
    paths: list[Path],
    campaign: Campaign,
    *,
    workdir: Path,
    explicit_unit: str | None = None,
    on_unpacked: Callable[[Submission], None] | None = None,
    on_probed: Callable[[PackageFile], None] | None = None,
) -> CheckResult | None:
    """Check successive submissions of one unit; None when no path could be read at all.

    An input that cannot be read beside others that can is still a file the unit sent: it
    becomes a FILE_UNREADABLE finding, so the check cannot pass as if it had not been given.
    """
    submissions: list[Submission] = []
    failed: list[FileProblem] = []
    for index, path in enumerate(paths):
        subdir = Path(tempfile.mkdtemp(prefix=f"sub{index}-", dir=workdir))
        try:
            submission = read_submission(path, subdir, campaign, index, on_unpacked=on_unpacked, on_probed=on_probed)
        except SourceUnreadable as exc:
            failed.append(FileProblem(code="FILE_UNREADABLE", path=str(path), reason=exc.reason, submission=index))
            continue
        if _nothing_recognised(path, submission):
            reason = "无法识别的文件内容（不是邮件、压缩包、文件夹或可读的文件）"
            failed.append(FileProblem(code="FILE_UNREADABLE", path=str(path), reason=reason, submission=index))
            continue
        submissions.append(submission)
    if not submissions:
        return None
    # a package split over several mails: sets the later PATHs complete are joined and read there
    join_volume_sets(submissions, workdir / "joined", campaign)
    result = check_submissions(submissions, campaign, explicit_unit=explicit_unit, input_problems=failed)
    result.unreadable = [(p.path, f"{p.path}: {p.reason}") for p in failed]
    return result


def _nothing_recognised(path: Path, submission: Submission) -> bool:
    """A lone file given as a PATH whose bytes are of no known type: nothing of it could be read.

    A mail (it has headers) or a folder is always something; so is any file of a known type.
    The only problems such a file has are its own (its bytes are not what its name says).
    """
    if Path(path).is_dir() or submission.sender or submission.subject:
        return False
    unknown = {f.path for f in submission.files if f.sniffed == "unknown"}
    return (
        bool(submission.files)
        and len(unknown) == len(submission.files)
        and all(p.path in unknown for p in submission.problems)
    )


def _entry_json(entry: StarEntry | ProjectEntry) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": entry.name,
        "exemplar": entry.exemplar,
        "registered": entry.registered,
        "form": entry.form.path if entry.form else None,
        "form_scanned": entry.form_scanned,  # read by OCR: "扫描件（自动识别）"
        "scans": list(entry.scans),  # its stamped scans (盖章扫描件), the form's own included
        "photos": [p.path for p in entry.photos],
        "videos": [
            {"path": v.path, **(v.video.model_dump(exclude_none=True) if v.video else {})} for v in entry.videos
        ],
    }
    if isinstance(entry, ProjectEntry):
        out["summary"] = {"path": entry.summary.path, "chars": entry.summary.chars} if entry.summary else None
    return out


def _logs(dossier: Dossier) -> list[SubmissionLog]:
    by_index = {log.index: log for log in dossier.log}
    return [by_index.get(s.index) or SubmissionLog(index=s.index) for s in dossier.submissions]


def _submission_json(meta: SubmissionMeta, log: SubmissionLog) -> dict[str, Any]:
    """One submission and what it did: each file's place and every change (RULES.md "Resubmissions")."""
    return {
        "source": meta.source,
        "ref": meta.ref,
        "arrived_at": meta.arrived_at.isoformat() if meta.arrived_at else None,
        "sender": meta.sender,
        "subject": meta.subject,
        "files": [p.model_dump(mode="json", exclude_defaults=True) for p in log.placements],
        "changes": [c.model_dump(mode="json", exclude_defaults=True) for c in log.changes],
        "ignored": log.ignored,
    }


def result_json(result: CheckResult) -> dict[str, Any]:
    """The JSON contract of `nomdesk check --json` (DESIGN.md)."""
    d = result.dossier
    return {
        "unit": d.unit,
        "unit_kind": d.unit_kind,
        "stars": [_entry_json(s) for s in d.stars],
        "projects": [_entry_json(p) for p in d.projects],
        "findings": [finding_to_json(f) for f in result.findings],
        "withdrawn": [{"name": w.name, "kind": w.kind, "by": w.by} for w in d.withdrawn],
        "unit_documents": [f.path for f in d.unit_documents],
        "submissions": [_submission_json(s, log) for s, log in zip(d.submissions, _logs(d), strict=True)],
        "unreadable": [{"path": p, "reason": r} for p, r in result.unreadable],
        # A rule that raised: the findings above are not the whole answer, and no finding is no pass.
        "incomplete": result.incomplete,
        "rule_errors": [e.model_dump() for e in result.rule_errors],
    }
