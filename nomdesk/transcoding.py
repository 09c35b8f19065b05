"""Compliant copies of failing videos: the one home of offering, making, accepting and keeping one.

The unit page (web.unit_portal) and the office dashboard call the same four methods; the
routes only check who asks. A copy is offered for a video of the unit's current dossier whose
spec findings it would fix (`intake.media.transcode.qualifies`: codec, size, frame rate or
container, never duration). A background worker (one thread, started beside the pipeline by
nomdesk/service.py) claims queued jobs under a lease (storage/transcodes.py), runs ffmpeg into
a scratch file, reporting progress about every second, and stores the copy as a blob. Accepting
hands the copy to the desk as the unit's upload replacing the original (`Desk.unit_upload`), so
the merge and the receipt follow as for any file; the original stays in the store.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from intake.media.transcode import Cancelled, TranscodeError, qualifies, transcode
from intake.models import Dossier
from nomdesk.accept import scratch_dir
from nomdesk.desk import Desk
from storage.leases import default_lease, worker_id
from storage.tables import FileRecord, RawMessageRecord, TranscodeJob, TranscodeState

log = logging.getLogger(__name__)

REPORT_EVERY_SECONDS = 1.0  # progress written to the database at most this often
COPY_SUFFIX = "-标准格式.mp4"  # the copy's file name: "<nominee>_<stem>-标准格式.mp4"


@dataclass(frozen=True)
class VideoOffer:
    """A video of the unit's current dossier a compliant copy would fix."""

    file_id: int
    name: str  # the file's own name
    path: str  # its logical path, as the findings name it
    nominee: str


class Transcoding:
    """The desk's compliant copies: offers for the pages, and the worker that makes them."""

    def __init__(self, desk: Desk, *, lease: dt.timedelta | None = None, poll_seconds: float = 1.0) -> None:
        self.desk = desk
        self.store = desk.store
        self.campaign = desk.campaign
        self.lease = lease if lease is not None else default_lease()
        self.poll_seconds = poll_seconds
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- what the pages ask -------------------------------------------------------------------
    def offers(self, unit: str) -> dict[int, VideoOffer]:
        """The unit's videos that qualify for a copy, by file id, from its latest evaluation."""
        snapshot = self.store.evaluations.latest_dossier(unit)
        if snapshot is None:
            return {}
        dossier = Dossier.model_validate(snapshot.dossier)
        findings = [(f.code, f.evidence) for f in self.store.evaluations.current_findings(unit)]
        subs = self.store.submissions.of_unit(unit)
        grouped = self.store.submissions.files_of([s.id or 0 for s in subs])
        file_ids = {(index, f.path): f.id or 0 for index, sub in enumerate(subs) for f in grouped.get(sub.id or 0, [])}
        found: dict[int, VideoOffer] = {}
        for entry in [*dossier.stars, *dossier.projects]:
            for video in entry.videos:
                file_id = file_ids.get((video.submission, video.path))
                if file_id and video.video is not None and qualifies(findings, video.path):
                    found[file_id] = VideoOffer(file_id, video.name, video.path, entry.name)
        return found

    def status(self, unit: str, file_id: int) -> tuple[VideoOffer | None, TranscodeJob | None]:
        """What the page shows for one video: the offer (None: it needs no copy) and its job."""
        return self.offers(unit).get(file_id), self.store.transcodes.for_file(unit, file_id)

    def job(self, unit: str, job_id: int) -> TranscodeJob:
        """The unit's job; LookupError for another unit's or none (a page must not tell them apart)."""
        job = self.store.transcodes.get(job_id)
        if job is None or job.unit_name != unit:
            raise LookupError("没有这个转换任务")
        return job

    def preview_path(self, unit: str, job_id: int) -> Path:
        job = self.job(unit, job_id)
        if job.output_sha256 is None:
            raise LookupError("转换尚未完成")
        return self.store.blobs.local_path(job.output_sha256)

    # -- actions ------------------------------------------------------------------------------
    def offer(self, unit: str, file_id: int, actor: str) -> TranscodeJob:
        """Start (or find) the job copying `file_id`; ValueError (Chinese) for a video that needs no
        copy or is not the unit's. Idempotent: asking twice gives the same job."""
        existing = self.store.transcodes.for_file(unit, file_id)
        if existing is not None and existing.state != TranscodeState.FAILED:
            return self.store.transcodes.offer(unit, file_id, existing.source_path, existing.nominee, actor)
        video = self.offers(unit).get(file_id)
        if video is None:
            raise ValueError("该视频无需转换，或不属于本单位当前材料")
        job = self.store.transcodes.offer(unit, file_id, video.path, video.nominee, actor)
        self._wake.set()
        return job

    def accept(self, unit: str, job_id: int, actor: str) -> RawMessageRecord:
        """The copy replaces the original in the unit's dossier (the original stays in the store);
        queued as the unit's upload, so a receipt follows. ValueError when it is not ready or taken."""
        job = self.job(unit, job_id)
        if job.state != TranscodeState.DONE or job.output_sha256 is None:
            raise ValueError("转换尚未完成，或已处理过")
        if not self.store.transcodes.decide(job_id, TranscodeState.ACCEPTED, actor):
            raise ValueError("该视频已处理过")
        # unit_upload names it for its nominee, once: "朴英子事迹视频-标准格式.mp4".
        filename = f"{PurePosixPath(job.source_path).stem}{COPY_SUFFIX}"
        try:
            # The blob's own file (a read-through copy on S3): the desk only reads it.
            record = self.desk.unit_upload(
                unit,
                filename,
                self.store.blobs.local_path(job.output_sha256),
                actor=actor,
                for_name=job.nominee,
                replaces=job.source_file_id,
            )
        except BaseException:
            self.store.transcodes.undecide(job_id)
            raise
        self.store.transcodes.set_replacement(job_id, record.id or 0)
        return record

    def keep(self, unit: str, job_id: int, actor: str) -> TranscodeJob:
        """The unit keeps its own video: the copy is no longer offered (offering again brings it back)."""
        job = self.job(unit, job_id)
        if not self.store.transcodes.decide(job_id, TranscodeState.KEPT, actor) and job.state != TranscodeState.KEPT:
            raise ValueError("转换尚未完成，或已处理过")
        return self.job(unit, job_id)

    # -- the worker ---------------------------------------------------------------------------
    def run_once(self) -> int:
        """Claim one queued job and make its copy; how many were made (0 or 1)."""
        job = self.store.transcodes.claim(self.lease)
        if job is None:
            return 0
        self._make(job)
        return 1

    def _make(self, job: TranscodeJob) -> None:
        assert job.id is not None
        record = self._source(job)
        if record is None:
            self.store.transcodes.fail(job.id, "原视频已不在本单位材料中")
            return
        source = self.store.submissions.file_path(record)
        out = scratch_dir(self.desk.work_root) / f"transcode-{job.id}-{worker_id().rsplit(':', 1)[-1]}.mp4"
        cancel, lost = threading.Event(), threading.Event()
        last = [0.0]

        def report(share: float) -> None:
            # ffmpeg reports twice a second: a stopping desk ends the copy within one report.
            if self._stop.is_set():
                cancel.set()
            now = time.monotonic()
            if now - last[0] < REPORT_EVERY_SECONDS and share < 1.0:
                return
            last[0] = now
            if not self.store.transcodes.report(job.id or 0, share, self.lease):
                lost.set()  # taken back and claimed by another desk: stop this copy
                cancel.set()

        try:
            transcode(source, out, self.campaign, progress=report, cancel=cancel)
            blob = self.store.blobs.put_file(out)
            self.store.transcodes.finish(job.id, blob.sha256, blob.size)
            log.info("transcode job %s done: %s, %d bytes", job.id, blob.sha256[:12], blob.size)
        except Cancelled:
            if not lost.is_set():
                self.store.transcodes.release(job.id)
        except TranscodeError as exc:
            log.warning("transcode job %s failed: %s %s", job.id, exc, exc.detail[-300:])
            self.store.transcodes.fail(job.id, str(exc))
        except Exception as exc:
            log.exception("transcode job %s failed", job.id)
            self.store.transcodes.fail(job.id, f"视频转换出错：{type(exc).__name__}")
        finally:
            out.unlink(missing_ok=True)

    def _source(self, job: TranscodeJob) -> FileRecord | None:
        """The job's source file, if it is still one of the unit's (voided submissions included)."""
        subs = self.store.submissions.of_unit(job.unit_name, include_voided=True)
        grouped = self.store.submissions.files_of([s.id or 0 for s in subs])
        return next((f for files in grouped.values() for f in files if f.id == job.source_file_id), None)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                busy = self.run_once()
            except Exception:  # one bad step must not stop the worker
                log.exception("transcode step failed")
                busy = 0
            if not busy:
                self._wake.wait(self.poll_seconds)
                self._wake.clear()

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="nomdesk-transcoding", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the worker; a copy being made is handed back to the queue and made again later."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._thread = None
