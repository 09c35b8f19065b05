"""Taking one file out of a unit's dossier, as a record the desk wrote asks (a unit's own page:
"remove this file", or "replace this file" with the new file in the same record).

Only a record the desk wrote carries the request (`REMOVE_HEADER`, read by
intake.withdrawal.take_actions): a unit's own mail with the header is never looked at. The file
leaves the nominee's photos, video or summary, the unit documents or the unplaced files; its bytes
stay in the store and its submission keeps it, so the office still sees what came. The merge
applies a record's removals before its own files, so a replacement's new file is filed in the
place the old one left; a file that is no longer in the dossier (replaced since, or removed twice)
is reported in the record's log, never an error.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from urllib.parse import quote, unquote

from intake.attribution import Owner, Owners
from intake.models import (
    ITEM_PHOTOS,
    ITEM_SUMMARY,
    ITEM_VIDEO,
    Change,
    ChangeAction,
    FileRef,
    Outcome,
    PackageFile,
    Submission,
    SubmissionLog,
    Summary,
)

# One header per file: "<source> <sha256 or -> <path>", source and path percent-encoded (one
# token each, ASCII, so folding a long header never changes them).
REMOVE_HEADER = "X-Nomdesk-Remove-File"
UNIT_DOCUMENT, UNPLACED = "unit_document", "unplaced"  # Change.where of a file held by no nominee
_TAKEN_BY = (Outcome.FILED, Outcome.ADDED, Outcome.REPLACED)  # a new file that took a removed one's place


def remove_header(ref: FileRef) -> str:
    """The header value a record carries for `ref` (its `source` is required)."""
    return f"{quote(ref.source or '', safe=':')} {ref.sha256 or '-'} {quote(ref.path, safe='')}"


def read_remove_headers(headers: Message) -> list[FileRef]:
    """The files a desk record asks to take out; a malformed value is skipped."""
    refs: list[FileRef] = []
    for value in headers.get_all(REMOVE_HEADER) or []:
        parts = str(value).split()
        if len(parts) != 3 or not parts[0] or not parts[2]:
            continue
        sha = parts[1] if parts[1] != "-" else None
        refs.append(FileRef(source=unquote(parts[0]), sha256=sha, path=unquote(parts[2])))
    return refs


@dataclass
class _Held:
    """Where a file of the dossier is held, and how to take it out."""

    file: PackageFile | Summary
    owner: Owner | None
    item: str | None
    where: str | None
    holder: list  # the list it is in (None for a summary)


class Removals:
    """The merge's removals: it holds the unit documents and unplaced files lists the merge keeps."""

    def __init__(
        self,
        subs: list[Submission],
        owners: Owners,
        unit_documents: list[PackageFile],
        unmatched: list[PackageFile],
        files: dict[tuple[int, str], PackageFile],
        retired: set[str],
    ) -> None:
        self.index_of = {s.source: s.index for s in subs}
        self.owners = owners
        self.unit_documents = unit_documents
        self.unmatched = unmatched
        self.files = files
        self.retired = retired

    def apply(self, sub: Submission, log: SubmissionLog) -> None:
        """Take out each file `sub` names, in order, before `sub`'s own files are placed."""
        by = sub.actor or "unit"
        for ref in sub.remove:
            held = self._find(ref)
            if held is None:
                log.changes.append(Change(action=ChangeAction.REMOVE_UNKNOWN, paths=[ref.path], by=by))
                continue
            self._take_out(held)
            owner = held.owner
            log.changes.append(
                Change(
                    action=ChangeAction.REMOVED,
                    nominee=owner.entry.name if owner else None,
                    nominee_kind=owner.kind if owner else None,
                    item=held.item,
                    where=held.where,
                    paths=[held.file.path],
                    by=by,
                )
            )

    def name_replacements(self, log: SubmissionLog) -> None:
        """After the record's files are placed: a file it filed for the nominee and item it took a
        file out of took that file's place (the receipt says 替换, not 已删除 and 新增)."""
        for change in log.changes:
            if change.action != ChangeAction.REMOVED or change.nominee is None:
                continue
            new = next(
                (
                    p
                    for p in log.placements
                    if p.nominee == change.nominee and p.item == change.item and p.outcome in _TAKEN_BY
                ),
                None,
            )
            if new is None:
                continue
            new.outcome = Outcome.REPLACED
            new.replaced = [*new.replaced, *change.paths]
            change.replaced_by = new.path

    def _find(self, ref: FileRef) -> _Held | None:
        index = self.index_of.get(ref.source) if ref.source is not None else ref.submission
        if index is None:
            return None
        for held in self._everything():
            if held.file.submission == index and held.file.path == ref.path:
                known = self.files.get((index, ref.path))
                sha = known.sha256 if known is not None else getattr(held.file, "sha256", None)
                if ref.sha256 and sha and sha != ref.sha256:
                    return None  # the same name, other bytes: not the file the request saw
                return held
        return None

    def _everything(self) -> Iterator[_Held]:
        for owner in self.owners:
            if not owner.introduced or owner.withdrawn is not None:
                continue
            for photo in owner.photos:
                yield _Held(photo, owner, ITEM_PHOTOS, None, owner.photos)
            for video in owner.videos:
                yield _Held(video, owner, ITEM_VIDEO, None, owner.videos)
            if owner.summary is not None:
                yield _Held(owner.summary, owner, ITEM_SUMMARY, None, [])
        for doc in self.unit_documents:
            yield _Held(doc, None, None, UNIT_DOCUMENT, self.unit_documents)
        for file in self.unmatched:
            yield _Held(file, None, None, UNPLACED, self.unmatched)

    def _take_out(self, held: _Held) -> None:
        if held.item == ITEM_SUMMARY and held.owner is not None:
            held.owner.summary = None
        else:
            held.holder[:] = [f for f in held.holder if f is not held.file]
        self.retired.add(held.file.path)  # its file problems no longer stand
