"""`nomdesk check`: read packages, merge them into one dossier, run every rule.

Offline and pure apart from reading the given paths: no data directory, no database.
The service calls the same `check_submissions` on what it stored.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from config.campaign import Campaign
from intake.dossier import build_dossier
from intake.models import Dossier, PackageFile, ProjectEntry, StarEntry, Submission
from intake.package import read_submission
from intake.source import SourceUnreadable
from intake.unit import UnitResolution, resolve_unit
from validators import finding_to_json, run_rules
from validators.base import Finding
from validators.rules.exemplar import is_exemplar_mark


class CheckResult(BaseModel):
    dossier: Dossier
    findings: list[Finding]
    unreadable: list[tuple[str, str]] = []  # (path, reason) of inputs that could not be read at all

    @property
    def has_errors(self) -> bool:
        return any(f.severity == "error" for f in self.findings)


def check_submissions(
    submissions: list[Submission],
    campaign: Campaign,
    *,
    unit: UnitResolution | None = None,
    explicit_unit: str | None = None,
    paper_received: bool | None = None,
    other_unit_nominees: dict[str, list[str]] | None = None,
) -> CheckResult:
    resolution = unit or resolve_unit(submissions, campaign, explicit_unit)
    dossier = build_dossier(
        submissions,
        campaign,
        resolution,
        is_exemplar_mark,
        paper_received=paper_received,
        other_unit_nominees=other_unit_nominees,
    )
    return CheckResult(dossier=dossier, findings=run_rules(dossier, campaign))


def check_paths(
    paths: list[Path],
    campaign: Campaign,
    *,
    workdir: Path,
    explicit_unit: str | None = None,
    on_unpacked: Callable[[Submission], None] | None = None,
    on_probed: Callable[[PackageFile], None] | None = None,
) -> CheckResult | None:
    """Check successive submissions of one unit; None when no path could be read at all."""
    submissions: list[Submission] = []
    unreadable: list[tuple[str, str]] = []
    for index, path in enumerate(paths):
        subdir = Path(tempfile.mkdtemp(prefix=f"sub{index}-", dir=workdir))
        try:
            submission = read_submission(path, subdir, campaign, index, on_unpacked=on_unpacked, on_probed=on_probed)
        except SourceUnreadable as exc:
            unreadable.append((str(path), str(exc)))
            continue
        if _nothing_recognised(path, submission):
            unreadable.append((str(path), f"{path}: 无法识别的文件内容（不是邮件、压缩包、文件夹或可读的文件）"))
            continue
        submissions.append(submission)
    if not submissions:
        return None
    result = check_submissions(submissions, campaign, explicit_unit=explicit_unit)
    result.unreadable = unreadable
    return result


def _nothing_recognised(path: Path, submission: Submission) -> bool:
    """A lone file given as a PATH whose bytes are of no known type: nothing of it could be read.

    A mail (it has headers) or a folder is always something; so is any file of a known type.
    """
    if Path(path).is_dir() or submission.sender or submission.subject or submission.problems:
        return False
    return bool(submission.files) and all(f.sniffed == "unknown" for f in submission.files)


def _entry_json(entry: StarEntry | ProjectEntry) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": entry.name,
        "exemplar": entry.exemplar,
        "registered": entry.registered,
        "form": entry.form.path if entry.form else None,
        "photos": [p.path for p in entry.photos],
        "videos": [
            {"path": v.path, **(v.video.model_dump(exclude_none=True) if v.video else {})} for v in entry.videos
        ],
    }
    if isinstance(entry, ProjectEntry):
        out["summary"] = {"path": entry.summary.path, "chars": entry.summary.chars} if entry.summary else None
    return out


def result_json(result: CheckResult) -> dict[str, Any]:
    """The JSON contract of `nomdesk check --json` (DESIGN.md)."""
    d = result.dossier
    return {
        "unit": d.unit,
        "unit_kind": d.unit_kind,
        "stars": [_entry_json(s) for s in d.stars],
        "projects": [_entry_json(p) for p in d.projects],
        "findings": [finding_to_json(f) for f in result.findings],
        "submissions": [
            {
                "source": s.source,
                "arrived_at": s.arrived_at.isoformat() if s.arrived_at else None,
                "sender": s.sender,
                "subject": s.subject,
            }
            for s in d.submissions
        ],
        "unreadable": [{"path": p, "reason": r} for p, r in result.unreadable],
    }
