"""What a unit contact does on her own page (web.unit_portal), one home for the page's actions:
upload a file to the dossier, replace one file, remove one file. Withdrawing and restoring a
nominee are nomdesk.office's `withdraw` / `restore`, called with the link actor `link:<contact id>`:
a unit's own act, never the office's (it may restore only what the unit itself withdrew).

Each action is kept as a record the desk writes (nomdesk.accept, source "office") and only queued:
the pipeline merges it with the unit's mails in arrival order (intake.removals takes a file out)
and the receipt goes to the unit's registered contacts, as for the office's attach. Callers wait
with `await_processed`. A link actor's upload arrives now and is the unit's delivery (LATE after
the deadline, validators.rules.unit); the same upload by an office actor is the office's doing.

A file is named to the merge by the dossier submission that holds it (its `source`, stable when a
void renumbers the unit's submissions), its path there and its sha256.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from intake.models import ITEM_PHOTOS, ITEM_SUMMARY, ITEM_VIDEO, Dossier, FileRef
from intake.removals import remove_header
from intake.withdrawal import actor_label
from nomdesk.accept import named_for, page_file_mail, removal_mail, scratch_dir
from storage.repo import Store
from storage.tables import FileRecord, RawMessageRecord

LINK_ACTOR = "link:{contact_id}"  # the actor of what a unit contact does on her page
NOT_OF_UNIT = "编号为 {file_id} 的文件不属于{unit}的材料，无法操作"
NOT_HELD = "文件“{name}”已不在{unit}当前的材料中（可能已被替换或删除），无需再操作"


@dataclass(frozen=True)
class HeldFile:
    """A stored file that is in the unit's current dossier, and where."""

    record: FileRecord
    ref: FileRef
    nominee: str | None  # None: a unit document or an unplaced file
    item: str | None

    @property
    def name(self) -> str:
        return self.record.path.rsplit("/", 1)[-1]


class UnitActions:
    """The unit page's actions, mixed into `nomdesk.desk.Desk` (its intake and store)."""

    store: Store
    clock: Callable[[], dt.datetime]
    mail_from: str
    own_domain: str
    work_root: Path
    keep_office_record: Callable[..., RawMessageRecord]
    keep_written_mail: Callable[..., RawMessageRecord]

    def unit_upload(
        self,
        unit: str,
        filename: str,
        path: Path,
        *,
        actor: str,
        for_name: str = "",
        replaces: int | None = None,
    ) -> RawMessageRecord:
        """A file uploaded on the unit page (or a compliant copy accepted), kept as a mail that joins
        the unit's dossier now; queued only. The file at `path` (any size: it is streamed) stays the
        caller's. `for_name` (a nominee or project) is put before the file name, which is what files
        are matched by. `replaces`: a FileRecord id of this unit's dossier the new file takes the
        place of, in the same record (by default for the nominee that file was for). A ValueError
        (in Chinese) for a file id not of this unit, or no longer in its dossier."""
        removes: list[str] = []
        if replaces is not None:
            held = self._held(unit, replaces)
            removes.append(remove_header(held.ref))
            for_name = for_name or held.nominee or ""
        filename = named_for(filename, for_name)
        now = self.clock()
        mail = page_file_mail(
            unit,
            filename,
            path,
            actor=actor,
            removes=removes,
            mail_from=self.mail_from,
            domain=self.own_domain,
            now=now,
            dest_dir=scratch_dir(self.work_root),
        )
        record = self.keep_written_mail(unit, mail, received_at=now)  # it arrives now
        self.store.audit.record(
            actor_label(actor), "unit.file_uploaded", unit, raw_id=record.id, filename=filename, replaces=replaces
        )
        return record

    def remove_file(self, unit: str, file_id: int, *, actor: str) -> RawMessageRecord:
        """One file leaves the unit's dossier (it stays in the store, and in its submission); queued
        only. A ValueError (in Chinese) for a file id not of this unit, or no longer in its dossier."""
        held = self._held(unit, file_id)
        now = self.clock()
        data = removal_mail(
            unit=unit,
            removes=[remove_header(held.ref)],
            names=[held.name],
            actor=actor_label(actor),
            mail_from=self.mail_from,
            domain=self.own_domain,
            now=now,
        )
        record = self.keep_office_record(unit, data, received_at=now)
        self.store.audit.record(
            actor_label(actor), "unit.file_removed", unit, raw_id=record.id, file_id=file_id, filename=held.name
        )
        return record

    def removable_file_ids(self, unit: str) -> set[int]:
        """FileRecord ids of the unit's current dossier the page may offer to remove or replace: its
        nominees' photos, videos and summaries, its unit documents and unplaced files."""
        return set(self._held_files(unit))

    # -- which stored file is where in the dossier -----------------------------------------------
    def _held(self, unit: str, file_id: int) -> HeldFile:
        held = self._held_files(unit)
        if file_id in held:
            return held[file_id]
        record = next((f for f in self._unit_files(unit) if f.id == file_id), None)
        if record is None:
            raise ValueError(NOT_OF_UNIT.format(file_id=file_id, unit=unit))
        raise ValueError(NOT_HELD.format(name=record.path.rsplit("/", 1)[-1], unit=unit))

    def _unit_files(self, unit: str) -> list[FileRecord]:
        rows = self.store.submissions.of_unit(unit)
        files = self.store.submissions.files_of([row.id for row in rows if row.id is not None])
        return [f for row in rows for f in files.get(row.id or 0, [])]

    def _held_files(self, unit: str) -> dict[int, HeldFile]:
        """file id -> where it is in the unit's last evaluated dossier. A stored row's files carry
        the index of the dossier submission it is part of (a WeCom run is one), as the merge gives."""
        snapshot = self.store.evaluations.latest_dossier(unit)
        if snapshot is None:
            return {}
        dossier = Dossier.model_validate(snapshot.dossier)
        places = _places(dossier)
        metas = {meta.index: meta for meta in dossier.submissions}
        starts = sorted(metas)
        rows = self.store.submissions.of_unit(unit)
        files = self.store.submissions.files_of([row.id for row in rows if row.id is not None])
        held: dict[int, HeldFile] = {}
        for position, row in enumerate(rows):  # positions are the indices the evaluation read them at
            index = max((i for i in starts if i <= position), default=None)
            if index is None:
                continue
            for record in files.get(row.id or 0, []):
                place = places.get((index, record.path))
                if place is None or record.id is None:
                    continue
                ref = FileRef(path=record.path, sha256=record.sha256, source=metas[index].source)
                held[record.id] = HeldFile(record, ref, *place)
        return held


def _places(dossier: Dossier) -> dict[tuple[int, str], tuple[str | None, str | None]]:
    """(submission index, path) -> (nominee, item) of every file the merge can take out."""
    places: dict[tuple[int, str], tuple[str | None, str | None]] = {}
    for entry in (*dossier.stars, *dossier.projects):
        for photo in entry.photos:
            places[(photo.submission, photo.path)] = (entry.name, ITEM_PHOTOS)
        for video in entry.videos:
            places[(video.submission, video.path)] = (entry.name, ITEM_VIDEO)
        summary = getattr(entry, "summary", None)
        if summary is not None:
            places[(summary.submission, summary.path)] = (entry.name, ITEM_SUMMARY)
    for file in (*dossier.unit_documents, *dossier.unmatched):
        places.setdefault((file.submission, file.path), (None, None))
    return places
