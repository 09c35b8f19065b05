"""Resumable uploads on a unit's own page: the tus protocol (tuspyserver) at `/u/<token>/tus/`.

A unit on a bad connection sends a 2 GB video in pieces; a dropped connection or a closed tab
resumes from the last byte the desk holds. What holds here:

- The link is checked before tuspyserver sees the request (`TusGate`, ASGI middleware in front of
  the tus routes): tuspyserver reads a PATCH body in a dependency that runs before its own `auth`
  one, so an unchecked request would be written to disk first. (A middleware, not a wrapper of the
  routes: FastAPI builds included routes lazily, there is no route object to wrap.)
- Each unit's uploads live in their own folder DIR/uploads/<unit key>/ (tuspyserver's `file_dep`),
  so another unit's link finds no upload by that id, whatever id it guesses.
- The bytes go to that file as they arrive (never whole in memory); a create announcing more than
  `limits.max_upload_bytes` is refused 413, a PATCH stream is stopped at that cap (a deferred
  length too) and its upload removed.
- A finished upload is handed to the desk (`desk.unit_upload`) by a worker thread, not inside
  the last PATCH: storing 2 GB takes a while, and the page polls `GET /u/<token>/uploads/status`
  (receiving, checking, done, quarantined) meanwhile. A small JSON beside each upload records its
  raw message, so the answer survives a restart; an upload finished but not yet handed over when
  the process stopped is handed over at the next start.
- Incomplete uploads wait `KEEP_DAYS` for their unit to resume them (the next day too), then are
  swept.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import queue
import re
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, FastAPI, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from tuspyserver import create_tus_router

from intake.archive.base import human_bytes
from nomdesk.accept import largest_office_file
from nomdesk.service import Service
from storage.tables import RawState
from web.unit_auth import UNIT_HEADERS, unit_claim, unit_csrf

log = logging.getLogger(__name__)
# tuspyserver logs every HEAD at INFO with the upload's metadata (a file and a nominee's name): a
# resume is routine, and the desk's log says what the desk did with the file.
logging.getLogger("tuspyserver").setLevel(logging.WARNING)

UPLOADS = "uploads"  # DIR/uploads/<unit key>/: tuspyserver's files (<id>, <id>.info) and ours (<id>.json)
KEEP_DAYS = 3  # an unfinished upload waits this long: a unit resumes the next day, or after a weekend day
SWEEP_SECONDS = 3600.0  # expired uploads are looked for at start, then on a new upload at most this often
IDLE_SECONDS = 60.0  # the worker ends after this long with nothing to hand over
# The page's CSRF value (web.unit_auth.unit_csrf) on a create, as a header: tus itself already needs
# headers a page elsewhere cannot send without CORS, this says so in the house's own terms too.
CSRF_HEADER = "x-nomdesk-csrf"
CLAIM = "nomdesk.unit_claim"  # where the gate leaves the checked link in the request's scope
UPLOAD_ID = re.compile(r"[0-9a-f]{32}")  # tuspyserver's ids (uuid4 hex)
NAME_LIMIT = 120  # characters of a file or nominee name kept from the client's metadata
STATUS_IDS_LIMIT = 20  # ids one status request may ask about
TUS_PATH = re.compile(r"/u/(?P<token>[^/]+)/tus(?:/(?P<id>[^/]*))?")  # the routes TusGate stands in front of

ERRORS_ZH = {
    400: "上传请求有误，请刷新页面后重新选择文件。",
    403: "无法上传：链接不可用，请使用回执中的最新链接。",
    404: "没有找到这次上传（可能已过期被清理），请重新选择文件上传。",
    409: "上传进度与服务器不一致，请重新选择该文件继续上传。",
    410: "这次上传已过期，请重新选择文件上传。",
    412: "上传工具版本不符，请刷新页面后重试。",
    415: "上传请求有误，请刷新页面后重试。",
    422: "上传请求有误，请刷新页面后重新选择文件。",
}


STALE_PAGE_ZH = "页面已过期，请刷新页面后重新上传。"
REFUSED_ZH = "文件未能加入材料，请联系省教育厅办公室。"
QUARANTINED_ZH = "文件已收到，但检查时出错，已转人工处理（原文件已完整保存），无需重复上传。"


def too_big_zh(cap: int) -> str:
    return f"文件超过 {human_bytes(cap)} 的上传上限，未能上传。请压缩后再传，或联系省教育厅办公室。"


def unit_key(unit: str) -> str:
    """A unit's folder name: its name hashed (a Chinese name is a poor path, and ids could collide)."""
    return hashlib.sha256(unit.encode("utf-8")).hexdigest()[:16]


def _clean(value: object) -> str:
    """A name from the client's metadata: one line, no folders, not too long."""
    text = str(value or "").replace("\\", "/").split("/")[-1]
    return "".join(ch for ch in text if ch.isprintable()).strip()[:NAME_LIMIT]


@dataclass(frozen=True)
class Received:
    """A finished upload waiting for the worker."""

    folder: Path
    upload_id: str


class UnitUploads:
    """The uploads folder, the worker that hands finished uploads to the desk, and their status."""

    def __init__(self, service: Service) -> None:
        self.service = service
        # The file becomes a mail, and the pipeline holds every mail to the mail cap: a campaign whose
        # upload cap is larger gets the mail's (tests/web/test_unit_upload.py checks the shipped one).
        limits = service.campaign.limits
        self.cap = min(limits.max_upload_bytes, largest_office_file(limits.max_mail_bytes))
        if self.cap < limits.max_upload_bytes:
            log.warning(
                "limits.max_upload_bytes (%d) is larger than a mail under limits.max_mail_bytes may carry: "
                "uploads are capped at %d",
                limits.max_upload_bytes,
                self.cap,
            )
        self.root = service.settings.data_dir / UPLOADS
        self.root.mkdir(parents=True, exist_ok=True)
        self.jobs: queue.Queue[Received] = queue.Queue()
        self.lock = threading.Lock()  # status files are written by the event loop and the worker
        self.starting = threading.Lock()  # the worker's start and end
        self.worker: threading.Thread | None = None
        self.swept_at = time.monotonic()

    # Files -----------------------------------------------------------------------------------
    def folder(self, unit: str) -> Path:
        return self.root / unit_key(unit)

    @staticmethod
    def _status_path(folder: Path, upload_id: str) -> Path:
        return folder / f"{upload_id}.json"

    def read_status(self, folder: Path, upload_id: str) -> dict[str, Any] | None:
        try:
            return json.loads(self._status_path(folder, upload_id).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def write_status(self, folder: Path, upload_id: str, **fields: Any) -> None:
        with self.lock:
            path = self._status_path(folder, upload_id)
            status = self.read_status(folder, upload_id) or {}
            status.update(fields)
            temporary = path.with_suffix(".tmp")
            temporary.write_text(json.dumps(status, ensure_ascii=False), encoding="utf-8")
            temporary.replace(path)

    @staticmethod
    def remove_upload(folder: Path, upload_id: str) -> None:
        """tuspyserver's two files of an upload (the bytes and its .info)."""
        for path in (folder / upload_id, folder / f"{upload_id}.info"):
            path.unlink(missing_ok=True)

    # Completion ------------------------------------------------------------------------------
    def received(self, claim: Any, path: Path, metadata: dict[str, Any]) -> None:
        """tuspyserver's completion hook, in the last PATCH: records and queues only."""
        upload_id = path.name
        self.write_status(
            path.parent,
            upload_id,
            state="received",
            unit=claim.unit,
            contact_id=claim.contact_id,
            filename=_clean(metadata.get("filename") or metadata.get("name")) or upload_id,
            nominee=_clean(metadata.get("nominee")),
            raw_id=None,
        )
        self.jobs.put(Received(path.parent, upload_id))
        self.wake()

    def hand_over(self, job: Received) -> None:
        """One finished upload into the desk (stored as a mail of the unit and queued), then gone here."""
        status = self.read_status(job.folder, job.upload_id)
        path = job.folder / job.upload_id
        if status is None or status.get("state") != "received" or not path.exists():
            return
        try:
            record = self.service.desk.unit_upload(
                status["unit"],
                status["filename"],
                path,
                actor=f"link:{status['contact_id']}",
                for_name=status.get("nominee") or "",
            )
        except ValueError as exc:  # the desk's refusal, in Chinese
            self.write_status(job.folder, job.upload_id, state="refused", message=str(exc))
        except Exception:
            log.exception("an upload could not be handed to the desk (%s); it stays for the next start", job.upload_id)
            return
        else:
            self.write_status(job.folder, job.upload_id, state="checking", raw_id=record.id)
        self.remove_upload(job.folder, job.upload_id)

    def work(self) -> None:
        """The worker: hands over one finished upload after another; ends once idle for a while
        (most days nothing is uploaded: no thread waits for nothing), `wake` starts it again."""
        while True:
            try:
                job = self.jobs.get(timeout=IDLE_SECONDS)
            except queue.Empty:
                with self.starting:
                    if self.jobs.empty():
                        self.worker = None
                        return
                continue
            try:
                self.hand_over(job)
            except Exception:
                log.exception("the upload worker failed on %s", job.upload_id)

    def wake(self) -> None:
        with self.starting:
            if self.worker is None or not self.worker.is_alive():
                self.worker = threading.Thread(target=self.work, name="unit-uploads", daemon=True)
                self.worker.start()

    def start(self) -> None:
        """At mount: sweep, and hand over what a stopped process received but had not handed over."""
        self.sweep()
        for status_path in self.root.glob("*/*.json"):
            status = self.read_status(status_path.parent, status_path.stem)
            if status and status.get("state") == "received":
                self.jobs.put(Received(status_path.parent, status_path.stem))
        if not self.jobs.empty():
            self.wake()

    async def sweep_now_and_then(self) -> None:
        """Called on each new upload: a sweep at most every `SWEEP_SECONDS`, off the event loop."""
        if time.monotonic() - self.swept_at >= SWEEP_SECONDS:
            self.swept_at = time.monotonic()
            await run_in_threadpool(self.sweep)

    def sweep(self, now: dt.datetime | None = None) -> int:
        """Remove unfinished uploads past their expiry and status records older than `KEEP_DAYS`."""
        now = now or dt.datetime.now(dt.UTC)
        removed = 0
        for info in self.root.glob("*/*.info"):
            try:
                expires = parsedate_to_datetime(json.loads(info.read_text(encoding="utf-8"))["expires"])
            except (OSError, ValueError, KeyError, TypeError):
                continue
            if expires < now:
                self.remove_upload(info.parent, info.stem)
                removed += 1
        cutoff = (now - dt.timedelta(days=KEEP_DAYS)).timestamp()
        for status in self.root.glob("*/*.json"):
            if status.stat().st_mtime < cutoff and not (status.parent / status.stem).exists():
                status.unlink(missing_ok=True)
        return removed

    # Status ----------------------------------------------------------------------------------
    def status_of(self, unit: str, upload_id: str) -> dict[str, Any]:
        """What the page shows of one upload of this unit (ids are looked up in its folder only):
        receiving, checking, done, quarantined, refused (with the desk's reason) or unknown."""
        if not UPLOAD_ID.fullmatch(upload_id):
            return {"state": "unknown"}
        folder = self.folder(unit)
        status = self.read_status(folder, upload_id)
        if status is None:
            return {"state": "receiving" if (folder / f"{upload_id}.info").exists() else "unknown"}
        if status["state"] == "refused":
            return {"state": "refused", "message": status.get("message") or REFUSED_ZH}
        if status.get("raw_id") is None:
            return {"state": "checking"}
        record = self.service.store.raw.get(int(status["raw_id"]))
        if record is None or record.state in (RawState.NEW, RawState.PROCESSING):
            return {"state": "checking"}
        if record.state == RawState.QUARANTINED:
            return {"state": "quarantined", "message": QUARANTINED_ZH}
        return {"state": "done"}


def _plain(status: int, text: str) -> JSONResponse:
    """The tus routes' errors: a Chinese sentence the page shows as it is (JSON {"detail": ...})."""
    return JSONResponse({"detail": text}, status_code=status, headers={"Tus-Resumable": "1.0.0", **UNIT_HEADERS})


ASGIApp = Callable[[dict[str, Any], Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]]


class TusGate:
    """ASGI middleware in front of the tus routes (`TUS_PATH`; everything else passes untouched):
    checks the link before a byte is read, refuses a create over the cap, answers errors in
    Chinese, and makes the Location of a new upload a path (right behind any proxy)."""

    def __init__(self, app: ASGIApp, uploads: UnitUploads) -> None:
        self.app, self.uploads = app, uploads

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        found = TUS_PATH.fullmatch(scope.get("path", "")) if scope["type"] == "http" else None
        if found is None:
            await self.app(scope, receive, send)
            return
        token, upload_id = found["token"], found["id"] or ""
        try:
            claim = await run_in_threadpool(unit_claim, self.uploads.service, token)
        except HTTPException as exc:
            await _plain(exc.status_code, str(exc.detail))(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        method = headers.get("x-http-method-override", scope["method"]).upper()
        if method == "POST":
            if not hmac.compare_digest(headers.get(CSRF_HEADER, ""), unit_csrf(token)):
                await _plain(403, STALE_PAGE_ZH)(scope, receive, send)
                return
            if _int(headers.get("upload-length")) > self.uploads.cap:
                await _plain(413, too_big_zh(self.uploads.cap))(scope, receive, send)
                return
            await self.uploads.sweep_now_and_then()
        scope[CLAIM] = claim
        answered: dict[str, int] = {}

        async def relay(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                answered["status"] = message["status"]
                if message["status"] >= 400:
                    return  # replaced by a Chinese answer below
                message = {**message, "headers": [_relative(k, v) for k, v in message.get("headers", [])]}
            elif answered.get("status", 0) >= 400:
                return
            await send(message)

        await self.app(scope, receive, relay)
        status = answered.get("status", 500)
        if status >= 400:
            if status == 413 and UPLOAD_ID.fullmatch(upload_id):  # stopped at the cap: it can never finish
                self.uploads.remove_upload(self.uploads.folder(claim.unit), upload_id)
            text = too_big_zh(self.uploads.cap) if status == 413 else ERRORS_ZH.get(status, "上传失败，请稍后重试。")
            await _plain(status, text)(scope, receive, send)


def _int(value: str | None) -> int:
    try:
        return int(value or 0)
    except ValueError:
        return 0


def _relative(name: bytes, value: bytes) -> tuple[bytes, bytes]:
    if name.lower() == b"location":
        return name, urlsplit(value.decode("latin-1")).path.encode("latin-1")
    return name, value


def mount_unit_uploads(app: FastAPI, service: Service) -> None:
    """The tus endpoint `/u/{token}/tus/` and the page's `GET /u/{token}/uploads/status?ids=a,b`."""
    uploads = UnitUploads(service)

    async def unit_files(request: Request) -> Callable[[dict[str, Any]], dict[str, str]]:
        folder = str(uploads.folder(request.scope[CLAIM].unit))
        return lambda _metadata: {"files_dir": folder}

    async def on_complete(request: Request) -> Callable[[str, dict[str, Any]], None]:
        claim = request.scope[CLAIM]
        return lambda path, metadata: uploads.received(claim, Path(path), metadata)

    tus = create_tus_router(
        prefix="tus",
        files_dir=str(uploads.root),
        max_size=uploads.cap,
        days_to_keep=KEEP_DAYS,
        file_dep=unit_files,
        upload_complete_dep=on_complete,
        tags=["unit uploads"],
    )
    app.include_router(tus, prefix="/u/{token}")
    app.add_middleware(TusGate, uploads=uploads)

    status_router = APIRouter()

    @status_router.get("/u/{token}/uploads/status")
    def upload_status(token: str, ids: str = Query("")) -> JSONResponse:
        try:
            claim = unit_claim(service, token)
        except HTTPException as exc:
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=UNIT_HEADERS)
        wanted = [i for i in ids.split(",") if i][:STATUS_IDS_LIMIT]
        answer = {i: uploads.status_of(claim.unit, i) for i in wanted}
        return JSONResponse({"uploads": answer}, headers=UNIT_HEADERS)

    app.include_router(status_router)
    uploads.start()
