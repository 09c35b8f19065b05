"""Volume sets completed across a unit's mails, joined in the store before the unit is checked.

A unit mails `材料.7z.001` today and `材料.7z.002` tomorrow: each mail's volumes are kept with
its submission (nomdesk.desk), and the check that first sees the set whole joins it
(`intake.volume_join`) and reads its content into the mail that completed it. That reading is
written back to that mail's stored submission, so the content belongs to the completing mail
from then on: its receipt lists it, a second check finds the set joined and joins nothing, and
voiding that mail takes the content away again (the earlier volumes are then pending again and
the dossier says which volume is missing).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path
from typing import Any

from config.campaign import Campaign
from intake.models import Submission
from intake.volume_join import join_volume_sets
from intake.volumes import completeness, pending_sets
from nomdesk.stored import reindex
from storage.repo import Store
from storage.tables import SubmissionRecord

log = logging.getLogger(__name__)

Read = tuple[SubmissionRecord, Submission]  # a stored row and its submission as the merge reads it


def can_join(submissions: list[Submission]) -> bool:
    """Whether a volume set not joined yet is whole among the unit's submissions: else a check
    joins nothing and reads nothing more (names and sizes only, all in the stored readings)."""
    return any(completeness(parts).whole for parts in pending_sets(submissions).values())


class VolumeJoins:
    """Joins a unit's volume sets made whole by its stored submissions, and stores the result."""

    def __init__(self, campaign: Campaign, store: Store, work_root: Path) -> None:
        self.campaign = campaign
        self.store = store
        self.work_root = work_root

    def join(self, unit: str, reads: list[Read]) -> bool:
        """Join what the unit's submissions (`reads`, arrival order, one a stored row: no WeCom burst
        merged, so each change maps to its row) now make whole, and store each changed submission.
        Whether `reads` were changed: the caller then reads the unit again from the store, which
        holds the join (this one's, or that of a check of the unit that stored it first), and
        the joined files' bytes (the workdir is gone)."""
        submissions = [sub for _, sub in reads]
        if not can_join(submissions):
            return False
        self.work_root.mkdir(parents=True, exist_ok=True)
        workdir = Path(tempfile.mkdtemp(prefix="volumes-", dir=self.work_root))
        try:
            before = [sub.model_dump(mode="json") for sub in submissions]
            join_volume_sets(submissions, workdir, self.campaign)
            changed = False
            for (row, sub), was in zip(reads, before, strict=True):
                if sub.model_dump(mode="json") != was:
                    self._store(unit, row, sub, was)
                    changed = True
            return changed
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

    def _store(self, unit: str, row: SubmissionRecord, sub: Submission, was: dict[str, Any]) -> bool:
        """Keep the joined content's files and the submission's new reading; False when another
        check of the unit stored the same join first (or the mail was voided meanwhile)."""
        joined = [name for name in sub.joined_volumes if name not in was.get("joined_volumes", [])]
        if not joined:  # a change that records no join would be made again at every check
            log.warning("%s: submission %s changed by a volume join that joined no set; not stored", unit, row.id)
            return False
        known = {f["path"] for f in was.get("files", [])}
        new_files = [f for f in sub.files if f.path not in known]
        files = [self.store.submissions.store_file(f) for f in new_files]
        for file, kept in zip(new_files, files, strict=True):
            file.local = self.store.submissions.file_path(kept)  # the workdir goes; the store's copy stays
        data = reindex(sub, 0).model_dump(mode="json")  # stored as read: its place is given at each read
        data["arrived_at"] = (row.summary.get("submission") or {}).get("arrived_at")
        done = self.store.submissions.update_read(row.id or 0, data, files, joined=joined)
        if done:
            log.info("%s: joined volume sets %s into submission %s (%d files)", unit, joined, row.id, len(files))
        return done
