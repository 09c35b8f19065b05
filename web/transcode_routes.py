"""The compliant copy of a failing video, from a unit's page and from the office's unit page.

The same routes on both sides, under two prefixes: `/u/{token}/videos/...` for the holder of a
unit's link (checked by `web.unit_auth.unit_claim`, answered through its `UnitRoute`) and
`/units/{name}/videos/...` for the office (its login session and CSRF token). Each only finds
who asks and which unit that is, then calls the one home of the action
(`nomdesk.transcoding.Transcoding`): a file or job of another unit is "not found", never shown.

The page's script (static/transcode.js) reads the JSON these answer: whether a video is offered
a copy, the job's state and progress, and after accepting, whether the desk has checked it.

No `from __future__ import annotations` here: FastAPI must see the route signatures' annotations.
"""

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Header, HTTPException, Request
from fastapi.responses import FileResponse, JSONResponse, Response

from nomdesk.service import Service
from nomdesk.transcoding import Transcoding
from nomdesk.unit_actions import LINK_ACTOR
from storage.tables import RawState, TranscodeJob
from web import auth
from web.unit_auth import check_unit_csrf, unit_claim, unit_route

# How long accepting waits for the pipeline to check the dossier with the copy in it, so the page
# it reloads shows the result; past it, the page says the check is under way.
PIPELINE_WAIT_SECONDS = 8.0
STATE_ZH = {
    "queued": "排队等待转换",
    "running": "正在转换",
    "done": "转换完成，请预览",
    "failed": "转换失败",
    "accepted": "已使用转换后的视频替换原视频",
    "kept": "已保留原视频",
}
NOT_FOUND_ZH = "没有找到这个视频或转换任务"

Csrf = Annotated[str, Form()]
CsrfHeader = Annotated[str, Header(alias="X-CSRF-Token")]


def job_json(job: TranscodeJob | None, base: str) -> dict[str, Any] | None:
    """A job as the page's script reads it (no paths, no other unit's names)."""
    if job is None:
        return None
    return {
        "id": job.id,
        "state": job.state,
        "state_zh": STATE_ZH.get(job.state, job.state),
        "progress": round(job.progress, 3),
        "error": job.error,
        "size": job.output_size,
        "preview": f"{base}/videos/jobs/{job.id}/preview" if job.output_sha256 else None,
        "status": f"{base}/videos/jobs/{job.id}",
        "accept": f"{base}/videos/jobs/{job.id}/accept",
        "keep": f"{base}/videos/jobs/{job.id}/keep",
    }


def create_transcode_router(service: Service) -> APIRouter:
    transcoding = service.transcoding
    assert transcoding is not None, "Service.build makes the transcoding worker"
    store, desk = service.store, service.desk
    router = APIRouter()

    # ---- what both sides do, for a unit and an actor --------------------------------------------

    def status(unit: str, file_id: int, base: str) -> Response:
        offer, job = transcoding.status(unit, file_id)
        return JSONResponse({"offer": offer is not None, "job": job_json(job, base)})

    def convert(unit: str, file_id: int, actor: str, base: str) -> Response:
        try:
            job = transcoding.offer(unit, file_id, actor)
        except ValueError as exc:
            if store.transcodes.for_file(unit, file_id) is None and file_id not in _unit_file_ids(unit):
                raise HTTPException(status_code=404, detail=NOT_FOUND_ZH) from None
            return JSONResponse({"error": str(exc)}, status_code=409)
        return JSONResponse({"job": job_json(job, base)})

    def job_status(unit: str, job_id: int, base: str) -> Response:
        return JSONResponse({"job": job_json(_job(transcoding, unit, job_id), base)})

    def preview(unit: str, job_id: int) -> Response:
        try:
            path = transcoding.preview_path(unit, job_id)
        except LookupError:
            raise HTTPException(status_code=404, detail=NOT_FOUND_ZH) from None
        return FileResponse(path, media_type="video/mp4")  # answers Range requests (206) for seeking

    def accept(unit: str, job_id: int, actor: str, base: str) -> Response:
        _job(transcoding, unit, job_id)
        try:
            record = transcoding.accept(unit, job_id, actor)
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, status_code=409)
        done = desk.await_processed(record.id or 0, PIPELINE_WAIT_SECONDS)
        checked = done is not None and done.state != RawState.QUARANTINED
        return JSONResponse({"job": job_json(_job(transcoding, unit, job_id), base), "checked": checked})

    def keep(unit: str, job_id: int, actor: str, base: str) -> Response:
        _job(transcoding, unit, job_id)
        try:
            job = transcoding.keep(unit, job_id, actor)
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, status_code=409)
        return JSONResponse({"job": job_json(job, base)})

    def _unit_file_ids(unit: str) -> set[int]:
        subs = store.submissions.of_unit(unit)
        return {f.id or 0 for files in store.submissions.files_of([s.id or 0 for s in subs]).values() for f in files}

    # ---- the unit's page: the link is the capability ---------------------------------------------

    unit_side = APIRouter(route_class=unit_route(service))

    def link(token: str) -> tuple[str, str, str]:
        """(unit, actor, base) of a valid link; 410/403 otherwise."""
        claim = unit_claim(service, token)
        return claim.unit, LINK_ACTOR.format(contact_id=claim.contact_id), f"/u/{token}"

    @unit_side.get("/u/{token}/videos/{file_id}/transcode")
    def unit_status(token: str, file_id: int) -> Response:
        unit, _, base = link(token)
        return status(unit, file_id, base)

    @unit_side.post("/u/{token}/videos/{file_id}/convert")
    def unit_convert(token: str, file_id: int, csrf: Csrf = "", x_csrf: CsrfHeader = "") -> Response:
        unit, actor, base = link(token)
        check_unit_csrf(token, csrf or x_csrf)
        return convert(unit, file_id, actor, base)

    @unit_side.get("/u/{token}/videos/jobs/{job_id}")
    def unit_job(token: str, job_id: int) -> Response:
        unit, _, base = link(token)
        return job_status(unit, job_id, base)

    @unit_side.get("/u/{token}/videos/jobs/{job_id}/preview")
    def unit_preview(token: str, job_id: int) -> Response:
        unit, _, _ = link(token)
        return preview(unit, job_id)

    @unit_side.post("/u/{token}/videos/jobs/{job_id}/accept")
    def unit_accept(token: str, job_id: int, csrf: Csrf = "", x_csrf: CsrfHeader = "") -> Response:
        unit, actor, base = link(token)
        check_unit_csrf(token, csrf or x_csrf)
        return accept(unit, job_id, actor, base)

    @unit_side.post("/u/{token}/videos/jobs/{job_id}/keep")
    def unit_keep(token: str, job_id: int, csrf: Csrf = "", x_csrf: CsrfHeader = "") -> Response:
        unit, actor, base = link(token)
        check_unit_csrf(token, csrf or x_csrf)
        return keep(unit, job_id, actor, base)

    # ---- the office's unit page: its login and CSRF ------------------------------------------------

    office_side = APIRouter()

    def office(request: Request, name: str, csrf: str | None = None) -> tuple[str, str, str]:
        """(unit, actor, base) for a logged-in office user; a POST must carry the session's CSRF."""
        who = auth.session_user(store, request)
        if who is None:
            raise auth.login_redirect(request)
        if csrf is not None:
            auth.check_csrf(who, csrf)
        known = {u.name for u in store.directory.units(active_only=False)}
        if name not in known and not store.submissions.of_unit(name, include_voided=True):
            raise HTTPException(status_code=404, detail="没有这个单位")
        return name, who.actor, f"/units/{quote(name, safe='')}"

    @office_side.get("/units/{name}/videos/{file_id}/transcode")
    def office_status(request: Request, name: str, file_id: int) -> Response:
        unit, _, base = office(request, name)
        return status(unit, file_id, base)

    @office_side.post("/units/{name}/videos/{file_id}/convert")
    def office_convert(request: Request, name: str, file_id: int, csrf: Csrf = "", x_csrf: CsrfHeader = "") -> Response:
        unit, actor, base = office(request, name, csrf or x_csrf)
        return convert(unit, file_id, actor, base)

    @office_side.get("/units/{name}/videos/jobs/{job_id}")
    def office_job(request: Request, name: str, job_id: int) -> Response:
        unit, _, base = office(request, name)
        return job_status(unit, job_id, base)

    @office_side.get("/units/{name}/videos/jobs/{job_id}/preview")
    def office_preview(request: Request, name: str, job_id: int) -> Response:
        unit, _, _ = office(request, name)
        return preview(unit, job_id)

    @office_side.post("/units/{name}/videos/jobs/{job_id}/accept")
    def office_accept(request: Request, name: str, job_id: int, csrf: Csrf = "", x_csrf: CsrfHeader = "") -> Response:
        unit, actor, base = office(request, name, csrf or x_csrf)
        return accept(unit, job_id, actor, base)

    @office_side.post("/units/{name}/videos/jobs/{job_id}/keep")
    def office_keep(request: Request, name: str, job_id: int, csrf: Csrf = "", x_csrf: CsrfHeader = "") -> Response:
        unit, actor, base = office(request, name, csrf or x_csrf)
        return keep(unit, job_id, actor, base)

    router.include_router(unit_side)
    router.include_router(office_side)
    return router


def _job(transcoding: Transcoding, unit: str, job_id: int) -> TranscodeJob:
    try:
        return transcoding.job(unit, job_id)
    except LookupError:
        raise HTTPException(status_code=404, detail=NOT_FOUND_ZH) from None
