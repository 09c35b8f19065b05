"""Probe every photo and video of a submission in parallel.

ffprobe runs as a subprocess and Pillow reads only headers and small drafts, so threads
are enough: the work is waiting on child processes and the disk, not Python bytecode.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, as_completed

from config import Campaign
from intake.media.photo import probe_photo
from intake.media.video import probe_video
from intake.models import FileKind, FileProblem, PackageFile, PhotoInfo, VideoInfo

# AVIF (newer phones) is decoded by Pillow itself.
PHOTO_TYPES: frozenset[str] = frozenset({"jpeg", "png", "heic", "heif", "avif", "webp", "bmp", "gif", "tiff"})
VIDEO_TYPES: frozenset[str] = frozenset({"mp4", "mov", "avi", "mkv", "flv", "webm", "wmv", "mpeg", "3gp", "m4v", "ts"})
MAX_WORKERS = 8
# An image whose file name says it is a form (or the stamped page of one) is a scan of the
# paper form, not a photo of the person or the project: it never counts towards the photos.
FORM_SCAN_WORDS = ("推荐表", "登记表", "申报表", "附表")
# Weaker words: "盖章" or "扫描" name a scan unless the name says it is a photo ("证件照扫描件").
SCAN_WORDS = ("盖章", "扫描")
PHOTO_WORDS = ("照", "相片")


def default_workers() -> int:
    return min(MAX_WORKERS, (os.cpu_count() or 1) + 2)


def probe_all(
    files: list[PackageFile],
    campaign: Campaign,
    progress: Callable[[PackageFile], None] | None = None,
    workers: int | None = None,
) -> tuple[list[PackageFile], list[FileProblem]]:
    """The files in their original order, photos and videos probed; and the problems found.

    A file that fails keeps its kind (PHOTO/VIDEO) with no `photo`/`video`, so it is still
    attributed to its nominee and counted as sent. `progress` is called from this thread.
    """
    result = list(files)
    problems: dict[int, FileProblem] = {}
    jobs = [(i, f) for i, f in enumerate(files) if f.sniffed in PHOTO_TYPES or f.sniffed in VIDEO_TYPES]
    if not jobs:
        return result, []
    with ThreadPoolExecutor(max_workers=workers or default_workers(), thread_name_prefix="probe") as pool:
        futures: dict[Future[tuple[PhotoInfo | VideoInfo | FileProblem, str | None]], int] = {
            pool.submit(_probe_and_hash, f, campaign): i for i, f in jobs
        }
        for future in as_completed(futures):
            index = futures[future]
            outcome, sha256 = future.result()
            result[index], problem = _merge(files[index].model_copy(update={"sha256": sha256}), outcome)
            if problem is not None:
                problems[index] = problem
            if progress is not None:
                progress(result[index])
    return result, [problems[i] for i in sorted(problems)]


def _probe_and_hash(file: PackageFile, campaign: Campaign) -> tuple[PhotoInfo | VideoInfo | FileProblem, str | None]:
    """A photo's probe and its content hash: the same photo sent again is recognised by its bytes
    (RULES.md "Resubmissions"). Photos are small; videos are not hashed here."""
    outcome = _probe_one(file, campaign)
    if file.sniffed not in PHOTO_TYPES:
        return outcome, None
    digest = hashlib.sha256()
    try:
        with file.local.open("rb") as fh:
            while block := fh.read(1 << 20):
                digest.update(block)
    except OSError:
        return outcome, None
    return outcome, digest.hexdigest()


def _probe_one(file: PackageFile, campaign: Campaign) -> PhotoInfo | VideoInfo | FileProblem:
    try:
        if file.sniffed in PHOTO_TYPES:
            return probe_photo(file, campaign)
        return probe_video(file, campaign)
    except Exception as exc:  # one bad file never stops the rest of the package
        reason = "图片文件无法读取" if file.sniffed in PHOTO_TYPES else "视频文件无法读取"
        return FileProblem(
            code="FILE_UNREADABLE",
            path=file.path,
            reason=reason,
            params={"detail": f"{type(exc).__name__}: {exc}"},
            submission=file.submission,
        )


def is_form_scan(path: str) -> bool:
    """An image file named as a scan of a form ("金哲洙推荐表（盖章扫描件）.jpg", "附表1盖章页.jpg").

    Only the file's own name decides: folder names such as "延边州申报表及材料" hold real photos.
    """
    name = path.rsplit("/", 1)[-1]
    if any(word in name for word in FORM_SCAN_WORDS):
        return True
    return any(word in name for word in SCAN_WORDS) and not any(word in name for word in PHOTO_WORDS)


def _kind(file: PackageFile) -> FileKind:
    if file.sniffed not in PHOTO_TYPES:
        return FileKind.VIDEO
    return FileKind.DOCUMENT if is_form_scan(file.path) else FileKind.PHOTO


def _merge(file: PackageFile, outcome: PhotoInfo | VideoInfo | FileProblem) -> tuple[PackageFile, FileProblem | None]:
    kind = _kind(file)
    if isinstance(outcome, FileProblem):
        return file.model_copy(update={"kind": kind, "photo": None, "video": None}), outcome
    if isinstance(outcome, PhotoInfo):
        return file.model_copy(update={"kind": kind, "photo": outcome}), None
    return file.model_copy(update={"kind": kind, "video": outcome}), None
