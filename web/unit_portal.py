"""A unit's own page at `/u/<token>`: its dossier as the desk checked it, and what it may do to it.

The link is the login (`web.unit_auth`): every route here checks it first and answers only for the
unit it names. The actions (take a file out, replace one, withdraw a nominee, restore one the unit
withdrew) are the desk's (`nomdesk.unit_actions`, `nomdesk.office`), acted as `link:<contact id>`;
like the office's, each only queues, and the page waits for the pipeline to take what it queued,
then redirects back to itself with a line saying what happened, so a reload repeats nothing.

No `from __future__ import annotations` here: FastAPI must see the route signatures' annotations.
"""

from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from nomdesk.accept import largest_office_file, scratch_dir
from nomdesk.service import Service
from nomdesk.unit_actions import LINK_ACTOR
from storage.tables import RawState
from storage.unit_links import LinkClaim, link_path
from web import views
from web.fetch import FetchError, copy_stream_capped
from web.thumbs import SIZES, thumbnail_response
from web.unit_auth import TEMPLATES, check_unit_csrf, unit_claim, unit_csrf, unit_route
from web.unit_portal_views import portal_page

# How long an action waits for the pipeline to take what it queued (as the office's pages wait).
PIPELINE_WAIT_SECONDS = 8.0
DONE_ZH = {
    "removed": "已删除该文件，并已重新检查本单位材料；文件仍保存在系统中。",
    "replaced": "已替换该文件，并已重新检查本单位材料。",
    "uploaded": "文件已加入本单位材料，并已重新检查。",
    "withdraw": "已撤回该推荐对象，其材料仍保存在系统中；如有误，可在下方“已撤回”中恢复。",
    "restore": "已恢复该推荐对象，并已重新检查本单位材料。",
    "checking": "已受理，系统正在检查本单位材料，请稍后刷新本页查看结果。",
    "quarantined": "所提交的内容处理出错，已转省教育厅办公室人工处理（原始内容已完整保存）。",
}
CONFIRM_WITHDRAW_ZH = "撤回前请先勾选“确认撤回”。"
NO_FILE_ZH = "请选择要上传的文件。"


def create_unit_router(service: Service) -> APIRouter:
    store, campaign, desk = service.store, service.campaign, service.desk
    upload_limit = min(campaign.limits.max_upload_bytes, largest_office_file(campaign.limits.max_mail_bytes))
    router = APIRouter(route_class=unit_route(service))

    def actor(claim: LinkClaim) -> str:
        return LINK_ACTOR.format(contact_id=claim.contact_id)

    def render(request: Request, token: str, claim: LinkClaim, *, done: str = "", error: str | None = None):
        page = portal_page(store, campaign, claim.unit, desk.removable_file_ids(claim.unit))
        label, passed = views.countdown(campaign, desk.clock())
        context = {
            "page": page,
            "claim": claim,
            "token": token,
            "base": link_path(token),
            "csrf": unit_csrf(token),
            "countdown": label,
            "deadline_passed": passed,
            "done": DONE_ZH.get(done),
            "error": error,
            "nominees": page.nominee_names,  # H3's upload partial: whom a file may be for
            "max_upload_bytes": upload_limit,
            "max_upload_mb": upload_limit // (1 << 20),
            "campaign_name": campaign.name,
        }
        return TEMPLATES.TemplateResponse(request, "unit_portal.html", context, status_code=400 if error else 200)

    def back(token: str, raw_id: int, done: str) -> RedirectResponse:
        """The page again once the pipeline took the record (or the wait ran out)."""
        record = desk.await_processed(raw_id, PIPELINE_WAIT_SECONDS)
        if record is None:
            done = "checking"
        elif record.state == RawState.QUARANTINED:
            done = "quarantined"
        return RedirectResponse(f"{link_path(token)}?done={done}", status_code=303)

    @router.get("/u/{token}")
    def unit_page(request: Request, token: str, done: str = "") -> Response:
        claim = unit_claim(service, token)
        return render(request, token, claim, done=done)

    @router.get("/u/{token}/files/{file_id}/thumb")
    def photo(token: str, file_id: int, size: int = SIZES[0]) -> Response:
        claim = unit_claim(service, token)
        record = views.unit_file(store, claim.unit, file_id)  # another unit's file is not found here
        return thumbnail_response(store, record, size, campaign.limits.max_image_pixels)

    @router.post("/u/{token}/files/{file_id}/remove")
    def remove_file(request: Request, token: str, file_id: int, csrf: Annotated[str, Form()] = "") -> Response:
        claim = unit_claim(service, token)
        check_unit_csrf(token, csrf)
        try:
            record = desk.remove_file(claim.unit, file_id, actor=actor(claim))
        except ValueError as exc:
            return render(request, token, claim, error=str(exc))
        return back(token, record.id or 0, "removed")

    @router.post("/u/{token}/files/{file_id}/replace")
    def replace_file(
        request: Request,
        token: str,
        file_id: int,
        csrf: Annotated[str, Form()] = "",
        upload: Annotated[UploadFile | None, File()] = None,
    ) -> Response:
        claim = unit_claim(service, token)
        check_unit_csrf(token, csrf)
        if upload is None or not upload.filename:
            return render(request, token, claim, error=NO_FILE_ZH)
        try:
            path = copy_stream_capped(upload.file, scratch_dir(desk.work_root), upload_limit)
        except FetchError as exc:
            return render(request, token, claim, error=str(exc))
        try:
            record = desk.unit_upload(claim.unit, upload.filename, path, actor=actor(claim), replaces=file_id)
        except ValueError as exc:
            return render(request, token, claim, error=str(exc))
        finally:
            path.unlink(missing_ok=True)
        return back(token, record.id or 0, "replaced")

    def nominee_action(act, request: Request, token: str, csrf: str, nominee: str, done: str) -> Response:
        claim = unit_claim(service, token)
        check_unit_csrf(token, csrf)
        try:
            action = act(claim.unit, nominee, actor=actor(claim))
        except ValueError as exc:
            return render(request, token, claim, error=str(exc))
        return back(token, action.record.id or 0, done)

    @router.post("/u/{token}/withdraw")
    def withdraw(
        request: Request,
        token: str,
        csrf: Annotated[str, Form()] = "",
        nominee: Annotated[str, Form()] = "",
        confirm: Annotated[str, Form()] = "",
    ) -> Response:
        if confirm != "yes":  # the page's second step: the box ticked
            claim = unit_claim(service, token)
            check_unit_csrf(token, csrf)
            return render(request, token, claim, error=CONFIRM_WITHDRAW_ZH)
        return nominee_action(desk.withdraw, request, token, csrf, nominee, "withdraw")

    @router.post("/u/{token}/restore")
    def restore(
        request: Request, token: str, csrf: Annotated[str, Form()] = "", nominee: Annotated[str, Form()] = ""
    ) -> Response:
        return nominee_action(desk.restore, request, token, csrf, nominee, "restore")

    return router
