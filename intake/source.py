"""A raw source (an .eml, an archive, a folder or one file) turned into a Submission's files.

Each leaf file gets a logical path (attachment name, then the path inside archives),
a local copy in `workdir` (or the original file, for folders), its size and its real
type. Archives, winmail.dat and attached messages are opened recursively within the
campaign's safety limits; whatever cannot be opened becomes a FileProblem and never
hides the rest. Classification and probing are later stages.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from config.campaign import Campaign
from intake.archive import ArchiveProblem, Budget, extract, human_bytes
from intake.archive.joined import join_volumes
from intake.filenames import attachment_basename, is_junk, unique
from intake.links import find_links
from intake.mail import MailContent, MailUnreadable, read_mail
from intake.models import FileProblem, PackageFile, Submission, VolumePart
from intake.sniff import ARCHIVE_TYPES, EXTENSIONS, sniff
from intake.tnef import TnefUnreadable, extract_tnef
from intake.volumes import record_joined, volume_part, whole_sets
from intake.withdrawal import withdrawal_names


class SourceUnreadable(Exception):
    """Nothing at all could be read from the source; `reason` says why, in Chinese."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


def read_source(path: Path, workdir: Path, campaign: Campaign, index: int = 0) -> Submission:
    """Read `path` into a Submission with `files`, `problems`, `links` and the mail's headers."""
    path = Path(path)
    workdir = Path(workdir)
    submission = Submission(index=index, source=str(path))
    if not os.access(path, os.R_OK):
        raise SourceUnreadable(path, "文件不存在或无法读取")
    collector = _Collector(workdir, campaign, submission)
    lone_file = False
    if path.is_dir():
        collector.add_folder(path)
    else:
        lone_file = _add_file_source(collector, path, campaign)
    collector.join_whole_sets()
    # a lone file (an archive, a form) that yielded nothing but "cannot be read": the source itself is unreadable
    if lone_file and not submission.files and not submission.volumes and _all_unreadable(submission.problems):
        raise SourceUnreadable(path, submission.problems[0].reason)
    return submission


def _add_file_source(collector: _Collector, path: Path, campaign: Campaign) -> bool:
    """Read a mail or a lone file into the collector; True for a lone file."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise SourceUnreadable(path, "文件无法读取") from exc
    if size == 0:
        raise SourceUnreadable(path, "文件是空的")
    kind = sniff(path)
    if kind == "eml" or (path.suffix.lower() == ".eml" and kind in ("txt", "unknown")):
        if size > campaign.limits.max_mail_bytes:
            raise SourceUnreadable(path, f"邮件超过 {human_bytes(campaign.limits.max_mail_bytes)} 的上限")
        collector.add_mail(path)
        return False
    collector.add_file(path, path.name, depth=0, owned=False, kind=kind)
    return True


def read_joined(parts: list[VolumePart], set_name: str, workdir: Path, campaign: Campaign, index: int) -> Submission:
    """The content of one whole volume set (volumes from several submissions), as a bare Submission
    of index `index`: the archive it makes read as `set_name`, within the same limits as any archive."""
    submission = Submission(index=index, source=set_name)
    _Collector(Path(workdir), campaign, submission).add_joined(set_name, parts, set_name, 0)
    return submission


def _all_unreadable(problems: list[FileProblem]) -> bool:
    return bool(problems) and all(p.code == "FILE_UNREADABLE" for p in problems)


class _Collector:
    def __init__(self, workdir: Path, campaign: Campaign, submission: Submission) -> None:
        self.workdir = workdir
        self.campaign = campaign
        self.limits = campaign.limits
        self.submission = submission
        self.budget = Budget(campaign.limits)
        self.taken: set[str] = set()
        self.serial = 0
        self.files_dir = workdir / "files"
        self.volume_depth: dict[str, int] = {}  # a volume's logical path -> the depth it was found at

    def _scratch(self, prefix: str) -> Path:
        self.serial += 1
        return self.workdir / f"{prefix}{self.serial:05d}"

    def problem(self, code: str, logical: str, reason: str, **params: object) -> None:
        self.submission.problems.append(
            FileProblem(code=code, path=logical, reason=reason, params=params, submission=self.submission.index)
        )

    # -- sources -----------------------------------------------------------
    def add_mail(self, path: Path, logical_prefix: str = "", depth: int = 0, headers: bool = True) -> None:
        try:
            mail = read_mail(path, self._scratch("m"), self.campaign.tz)
        except MailUnreadable as exc:
            reason = f"邮件无法读取（{exc}）" if str(exc) else "邮件无法读取"
            if headers:
                raise SourceUnreadable(path, reason) from exc
            self.problem("FILE_UNREADABLE", logical_prefix.rstrip("/"), reason)
            return
        if headers:
            self._take_headers(mail)
        for attachment in mail.attachments:
            logical = logical_prefix + attachment.name
            self.add_file(attachment.local, logical, depth=depth, owned=True)

    def _take_headers(self, mail: MailContent) -> None:
        sub = self.submission
        sub.sender = mail.sender
        sub.sender_name = mail.sender_name
        sub.subject = mail.subject
        sub.message_id = mail.message_id
        sub.arrived_at = mail.arrived_at
        sub.body_text = mail.body_text
        sub.withdraw = withdrawal_names(mail.subject, mail.body_text)  # "撤回 张三" (RULES.md "Resubmissions")
        sub.links = find_links(self.campaign.links, mail.plain, mail.html, sub.index)

    def add_folder(self, folder: Path) -> None:
        for root, dirs, files in os.walk(folder):
            for junk in sorted(d for d in dirs if is_junk([d])):
                self.submission.ignored.append("/".join([*Path(root, junk).relative_to(folder).parts, ""]))
            dirs[:] = sorted(d for d in dirs if not is_junk([d]))
            for name in sorted(files):
                full = Path(root, name)
                rel_parts = list(full.relative_to(folder).parts)
                if is_junk(rel_parts):
                    self.submission.ignored.append("/".join(rel_parts))
                    continue
                if full.is_symlink() and not full.resolve().is_file():
                    continue
                self.add_file(full, "/".join(rel_parts), depth=0, owned=False)

    # -- one file --------------------------------------------------------------
    def add_file(self, local: Path, logical: str, depth: int, owned: bool, kind: str | None = None) -> None:
        """Add a leaf, or open it if it is a container (archive, TNEF, message)."""
        if is_junk(logical.split("/")):  # a Thumbs.db attached to the mail: counted as ignored, nothing else
            self.submission.ignored.append(logical)
            if owned:
                local.unlink(missing_ok=True)
            return
        kind = kind or sniff(local, logical.rsplit("/", 1)[-1])
        if self._volume(local, logical, kind, depth, owned):
            return
        if kind in ARCHIVE_TYPES:
            self._archive(local, logical, kind, depth + 1)
            if owned:
                local.unlink(missing_ok=True)
            return
        if kind == "tnef":
            self._tnef(local, logical, depth)
            if owned:
                local.unlink(missing_ok=True)
            return
        if kind == "eml" and depth < self.limits.max_archive_depth:
            # an attached or archived message: its attachments are material too
            self.add_mail(local, logical + "/", depth=depth + 1, headers=False)
            if owned:
                local.unlink(missing_ok=True)
            return
        logical = unique(self._with_extension(logical, kind), self.taken)
        if owned:
            local = self._settle(local, kind, logical)
        self.submission.files.append(
            PackageFile(
                path=logical,
                local=local,
                size=local.stat().st_size,
                sniffed=kind,
                submission=self.submission.index,
            )
        )

    def _volume(self, local: Path, logical: str, kind: str, depth: int, owned: bool) -> bool:
        """A volume of a multi-volume archive cannot be opened alone: kept until its set is whole."""
        part = volume_part(logical.rsplit("/", 1)[-1], local, kind, logical, self.submission.index)
        if part is None:
            return False
        part.path = unique(logical, self.taken)
        if owned:
            part.local = self._settle(local, "volume", part.path)
        self.submission.volumes.append(part)
        self.volume_depth[part.path] = depth
        return True

    def join_whole_sets(self) -> None:
        """Sets whole within this submission are joined and read as the archive they make."""
        for name, parts in whole_sets(self.submission.volumes).items():
            folder = parts[0].path.rsplit("/", 1)[0] + "/" if "/" in parts[0].path else ""
            depth = max(self.volume_depth.get(p.path, 0) for p in parts)
            self.add_joined(name, parts, folder + name, depth)
            record_joined(self.submission, name, parts)

    def add_joined(self, name: str, parts: list[VolumePart], logical: str, depth: int) -> None:
        """Join one whole set and read the archive it makes, as any archive (limits, budget, nesting)."""
        scratch = self._scratch("v")
        try:
            joined, kind = join_volumes(parts, scratch)
        except ArchiveProblem as exc:
            self.problem(exc.code, logical, exc.reason, **exc.params)
        else:
            self._archive(joined, logical, kind, depth + 1)
        shutil.rmtree(scratch, ignore_errors=True)

    def _with_extension(self, logical: str, kind: str) -> str:
        """Attachments that came without a name ("附件3") get the extension of what they are."""
        name = logical.rsplit("/", 1)[-1]
        if "." not in name and kind in EXTENSIONS and name.startswith("附件"):
            return logical + EXTENSIONS[kind]
        return logical

    def _settle(self, local: Path, kind: str, logical: str) -> Path:
        """Move a decoded/unpacked file to its final name, with an extension tools accept."""
        self.files_dir.mkdir(parents=True, exist_ok=True)
        ext = EXTENSIONS.get(kind)
        if ext is None:
            name = logical.rsplit("/", 1)[-1]
            ext = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
            if not (1 < len(ext) <= 10 and ext[1:].isascii() and ext[1:].isalnum()):
                ext = ""
        self.serial += 1
        target = self.files_dir / f"{self.serial:05d}{ext}"
        try:
            local.rename(target)
        except OSError:
            shutil.move(local, target)
        return target

    def _archive(self, local: Path, logical: str, kind: str, depth: int) -> None:
        limit = self.limits.max_archive_depth
        if depth > limit:
            reason = f"嵌套 {depth} 层，超过 {limit} 层的上限，未解压"
            self.problem("ARCHIVE_REJECTED", logical, reason, limit=limit, value=depth)
            return
        dest = self._scratch("x")
        name = logical.rsplit("/", 1)[-1]
        try:
            unpacked = extract(local, kind, dest, self.budget, name)
        except ArchiveProblem as exc:
            self.problem(exc.code, logical, exc.reason, **exc.params)
            return
        for damaged in unpacked.damaged:  # one bad entry never hides the rest of the archive
            path = f"{logical}/{damaged.entry}" if damaged.entry else logical
            self.problem("FILE_UNREADABLE", path, damaged.reason)
        for member in unpacked.members:  # a junk member (__MACOSX, Thumbs.db) is counted as ignored by add_file
            self.add_file(member.local, f"{logical}/{'/'.join(member.parts)}", depth=depth, owned=True)
        shutil.rmtree(dest, ignore_errors=True)

    def _tnef(self, local: Path, logical: str, depth: int) -> None:
        dest = self._scratch("t")
        try:
            attachments = extract_tnef(local, dest)
        except TnefUnreadable:
            self.problem("FILE_UNREADABLE", logical, "winmail.dat 已损坏，无法取出其中的附件")
            return
        # winmail.dat is only a wrapper: its attachments stand where it stood
        folder = logical.rsplit("/", 1)[0] + "/" if "/" in logical else ""
        for name, path in attachments:
            self.add_file(path, folder + attachment_basename(name), depth=depth, owned=True)
        shutil.rmtree(dest, ignore_errors=True)
