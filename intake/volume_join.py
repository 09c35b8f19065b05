"""Volume sets completed across a unit's submissions, joined and read in the submission that completed them.

A package split over two mails ("（1/2）", "（2/2）") is whole only when the second arrives: its
volumes wait in `Submission.volumes` (intake/source.py), and once a later submission makes a set
whole the set is joined here and its content (forms, photos, videos…) read and added to that
latest submission, as if it had brought the whole archive. Earlier submissions stay as they
were: intake/volumes.py ignores their volumes of a set a later submission joined. Used by
`nomdesk check` over its PATHs and by the service over a unit's stored submissions.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from config.campaign import Campaign
from intake.models import Submission
from intake.package import read_contents
from intake.source import read_joined
from intake.volumes import completeness, pending_sets, record_joined


def join_volume_sets(submissions: list[Submission], workdir: Path, campaign: Campaign) -> list[int]:
    """Join every set made whole by volumes not yet joined; return the indices of submissions changed.

    Idempotent: a joined set is named in its submission's `joined_volumes`, so calling again
    joins nothing new. Files created go under `workdir`.
    """
    changed: list[int] = []
    by_index = {s.index: s for s in submissions}
    for name, parts in pending_sets(submissions).items():
        if not completeness(parts).whole:
            continue
        target = by_index[max(p.submission for p in parts)]
        workdir.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix="join-", dir=workdir))
        unpacked = read_joined(parts, name, scratch, campaign, target.index)
        content = read_contents(unpacked, scratch, campaign, target.index)
        _merge(target, content)
        record_joined(target, name, parts)
        if target.index not in changed:
            changed.append(target.index)
    return changed


def _merge(target: Submission, content: Submission) -> None:
    """What the joined archive held becomes the completing submission's, beside what it brought itself."""
    target.files += content.files
    target.registers += content.registers
    target.star_forms += content.star_forms
    target.project_forms += content.project_forms
    target.summaries += content.summaries
    target.problems += content.problems
    target.ignored += content.ignored
