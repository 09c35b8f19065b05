"""The dashboard's pages and actions. Every route but the login page requires an office login.

Every route of this router answers an error (400, 403, 404, 422) with a Chinese page, not
FastAPI's JSON, and every response says it may not be framed (clickjacking). Both are done
by the router's own route class, so the app's other routes (the WeCom callback) keep theirs.
A URL no route matches gets the same page through `unmatched_handler`.

No `from __future__ import annotations` here: FastAPI must see the route signatures'
annotations as objects, and `User` is local to `create_router`.
"""

import datetime as dt
from collections.abc import Callable, Coroutine
from functools import partial
from pathlib import Path
from typing import Annotated, Any, NamedTuple
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Form, HTTPException, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from config.masking import mask_phone
from nomdesk.accept import largest_office_file, scratch_dir
from nomdesk.service import Service
from schedule.slots import slot_label
from storage.tables import RawState
from web import auth, exports, views
from web.fetch import FetchError, Pace, copy_stream_capped, fetch_link
from web.guarded_route import GuardedRoute, error_message
from web.office_routes import create_office_router
from web.office_views import unit_downloads
from web.thumbs import SIZES, thumbnail_response

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))
TEMPLATES.env.filters["phone"] = mask_phone  # a phone is shown masked on every page (issue 13)
DONE_ZH = {
    "paper": "已记录纸质材料收到，并已重新检查该单位材料。",
    "attach": "附件已加入该单位材料，并已重新检查。",
    "withdraw": "已撤回该推荐对象，其材料仍保存在系统中；如有误，可在“已撤回”中恢复。",
    "restore": "已恢复该推荐对象，并已重新检查该单位材料。",
    "checking": "已受理，系统正在检查该单位材料，请稍后刷新本页查看结果。",
    "quarantined": "所提交的内容处理出错，已转人工处理（原始内容已完整保存）；技术人员处理后会重新检查。",
    "note": "已保存备注（仅办公室可见，不会发给单位）。",
    "void": "已作废该次报送，并已按其余报送重新检查该单位材料；原始邮件和文件仍保存，该单位下次回执会说明作废原因。",
    "unvoid": "已撤销作废，该次报送重新计入，并已重新检查该单位材料。",
}
# How long an action's page waits for the pipeline thread to process what it queued, so the page it
# redirects to shows the result; past it, the page says the unit is being checked.
PIPELINE_WAIT_SECONDS = 8.0
ERROR_ZH = {
    400: "请求有误",
    403: "无法完成操作",
    404: "没有找到",
    405: "无法完成操作",
    422: "提交的内容不完整或格式不对",
}
UNMATCHED_ZH = {404: "没有这个页面，请从首页重新进入。", 405: "这个页面不能这样打开，请从首页重新进入。"}
OPEN_POSTS = frozenset({"/login"})  # the only form a visitor without a session may send
# Paths that are not the dashboard's: their errors stay as their own clients expect them.
NOT_DASHBOARD = ("/wecom", "/healthz", "/static")
FRAME_HEADERS = {"X-Frame-Options": "DENY", "Content-Security-Policy": "frame-ancestors 'none'"}


class Dashboard(NamedTuple):
    router: APIRouter
    error_page: Callable[[Request, int, object], Response]


def create_router(service: Service) -> Dashboard:
    store, campaign, desk = service.store, service.campaign, service.desk

    def page(request: Request, template: str, who: auth.WebUser | None, status: int = 200, **context: object):
        label, passed = views.countdown(campaign, desk.clock())
        waiting = len(store.submissions.waiting()) if who else 0  # the nav's 待确认 (N)
        return TEMPLATES.TemplateResponse(
            request,
            template,
            {
                "user": who,
                "campaign": campaign,
                "countdown": label,
                "deadline_passed": passed,
                "waiting_count": waiting,
                **context,
            },
            status_code=status,
        )

    def error_page(request: Request, status: int, detail: object) -> Response:
        title = ERROR_ZH.get(status, "出错了")
        message = error_message(status, detail)
        who = auth.session_user(store, request)
        return page(request, "error.html", who, status, code=status, title=title, message=message)

    class DashboardRoute(GuardedRoute):
        """A dashboard route: errors as Chinese pages, and never to be framed by another site."""

        answer_headers = FRAME_HEADERS

        async def guard(self, request: Request) -> None:
            if (
                request.method == "POST"
                and request.url.path not in OPEN_POSTS
                and await run_in_threadpool(auth.session_user, store, request) is None
            ):
                raise auth.login_redirect(request)

        def error_response(self, request: Request, status: int, detail: object) -> Response:
            return error_page(request, status, detail)

    router = APIRouter(route_class=DashboardRoute)

    def user(request: Request) -> auth.WebUser:
        found = auth.session_user(store, request)
        if found is None:
            raise auth.login_redirect(request)
        return found

    User = Annotated[auth.WebUser, Depends(user)]

    def unit_or_404(name: str) -> str:
        known = {u.name for u in store.directory.units(active_only=False)}
        if name not in known and not store.submissions.of_unit(name, include_voided=True):
            raise HTTPException(status_code=404, detail="没有这个单位")
        return name

    # ---- login -------------------------------------------------------------------------------

    @router.get("/login", response_class=HTMLResponse)
    def login_form(request: Request, next: str = "/") -> Response:
        token = auth.new_login_csrf(request)
        response = page(request, "login.html", None, next=auth.safe_next(next), csrf=token, error=None)
        auth.set_login_csrf(response, request, token)
        return response

    @router.post("/login", response_class=HTMLResponse)
    def login(
        request: Request,
        username: Annotated[str, Form()],
        password: Annotated[str, Form()],
        csrf: Annotated[str, Form()] = "",
        next: Annotated[str, Form()] = "/",
    ) -> Response:
        auth.check_login_csrf(request, csrf)
        now = desk.clock()

        def refused(status: int, error: str) -> Response:
            return page(request, "login.html", None, status, next=auth.safe_next(next), csrf=csrf, error=error)

        address = auth.client_address(request)
        if auth.login_locked(store, username, address, now):
            store.audit.record("web", "login.locked", None, username=username[:64], address=address)
            return refused(429, auth.LOCKED_ZH)
        found = store.directory.verify_user(username, password)
        if found is None:
            store.audit.record("web", "login.failed", None, username=username[:64], address=address)
            if auth.record_login_failure(store, username, address, now):
                return refused(429, auth.LOCKED_ZH)
            return refused(401, "用户名或密码错误")
        auth.clear_login_failures(store, username, address)
        response = RedirectResponse(auth.safe_next(next), status_code=303)
        auth.start_session(store, response, request, found.username, found.display_name)
        store.audit.record(f"office:{found.username}", "login", None)
        return response

    @router.post("/logout")
    def logout(request: Request, who: User, csrf: Annotated[str, Form()] = "") -> Response:
        auth.check_csrf(who, csrf)
        response = RedirectResponse("/login", status_code=303)
        auth.end_session(store, request, response)
        return response

    # ---- pages -------------------------------------------------------------------------------

    @router.get("/", response_class=HTMLResponse)
    def campaign_page(request: Request, who: User, kind: str = "", state: str = "", q: str = "") -> Response:
        rows = views.unit_rows(store, campaign)
        counts = {s: sum(r.matches("", s, "") for r in rows) for s in views.FILTER_ZH}
        shown = [r for r in rows if r.matches(kind, state, q)]
        return page(
            request,
            "campaign.html",
            who,
            rows=shown,
            total=len(rows),
            counts=counts,
            states=views.FILTER_ZH,
            late_zh=views.LATE_ZH,
            kinds=views.KIND_ZH,
            kind=kind,
            state=state,
            q=q,
            paper=sum(r.paper_received for r in rows),
        )

    def render_unit(request: Request, who: auth.WebUser, name: str, *, error: str | None = None, done: str = ""):
        data = views.unit_page(store, campaign, name)
        today = desk.clock().astimezone(campaign.tz).date()
        return page(
            request,
            "unit.html",
            who,
            400 if error else 200,
            unit=data,
            downloads=unit_downloads(store, campaign, name),  # the unit's stored files, one link each
            quote=quote,
            error=error,
            done=DONE_ZH.get(done),
            today=today.isoformat(),
            outbox_state=views.OUTBOX_STATE_ZH,
            channels=views.CHANNEL_ZH,
            slot_label=slot_label,
            late_zh=views.LATE_ZH,
            local=lambda value: views.local(value, campaign),
        )

    @router.get("/units/{name}", response_class=HTMLResponse)
    def unit_page(request: Request, who: User, name: str, done: str = "") -> Response:
        return render_unit(request, who, unit_or_404(name), done=done)

    # ---- actions -----------------------------------------------------------------------------

    def back(name: str, done: str) -> RedirectResponse:
        return RedirectResponse(f"/units/{quote(name, safe='')}?done={done}", status_code=303)

    @router.post("/units/{name}/paper")
    def mark_paper(
        who: User,
        name: str,
        csrf: Annotated[str, Form()] = "",
        received_on: Annotated[str, Form()] = "",
        note: Annotated[str, Form()] = "",
    ) -> Response:
        auth.check_csrf(who, csrf)
        unit_or_404(name)
        try:
            day = dt.date.fromisoformat(received_on) if received_on else desk.clock().astimezone(campaign.tz).date()
        except ValueError as exc:
            raise HTTPException(status_code=400, detail="日期格式应为 YYYY-MM-DD") from exc
        desk.record_paper(name, day, actor=who.actor, note=note.strip() or None)
        return back(name, "paper" if desk.await_recheck(name, PIPELINE_WAIT_SECONDS) else "checking")

    @router.post("/units/{name}/attach")
    def attach(
        request: Request,
        who: User,
        name: str,
        csrf: Annotated[str, Form()] = "",
        url: Annotated[str, Form()] = "",
        submission: Annotated[int, Form()] = 0,
        for_name: Annotated[str, Form()] = "",
        upload: Annotated[UploadFile | None, File()] = None,
    ) -> Response:
        auth.check_csrf(who, csrf)
        unit_or_404(name)
        limit = largest_office_file(campaign.limits.max_mail_bytes)  # its mail must pass the mail cap
        scratch = scratch_dir(desk.work_root)  # the file goes to disk as it comes, the cap checked as it does
        try:
            if upload is not None and upload.filename:
                path = copy_stream_capped(upload.file, scratch, limit)
                filename, origin = upload.filename, "办公室上传"
            elif url.strip():
                settings = service.settings
                filename, path = fetch_link(
                    url, limit, scratch, allow_private=settings.fetch_private_hosts, pace=Pace.of(settings)
                )
                origin = url.strip()
            else:
                raise FetchError("请填写下载链接或选择文件")
        except FetchError as exc:
            return render_unit(request, who, name, error=str(exc))
        try:
            record = desk.attach(
                name, filename, path, actor=who.actor, origin=origin, for_name=for_name, submission=submission
            )
        finally:
            path.unlink(missing_ok=True)
        return back(name, outcome(record.id, "attach"))

    def outcome(raw_id: int, done: str) -> str:
        """What the page says of what an action queued: the pipeline thread does the work (the desk
        woke it); the page waits for it up to PIPELINE_WAIT_SECONDS, never works itself."""
        record = desk.await_processed(raw_id, PIPELINE_WAIT_SECONDS)
        if record is None:
            return "checking"
        return "quarantined" if record.state == RawState.QUARANTINED else done

    def nominee_action(act, request: Request, who: User, name: str, csrf: str, nominee: str, what: str) -> Response:
        """Withdraw or restore (Desk's one home for it); a refusal is shown on the unit page."""
        auth.check_csrf(who, csrf)
        unit_or_404(name)
        try:
            done = act(name, nominee, actor=who.actor)
        except ValueError as exc:
            return render_unit(request, who, name, error=str(exc))
        return back(name, outcome(done.record.id, what))

    @router.post("/units/{name}/withdraw")
    def withdraw(
        request: Request, who: User, name: str, csrf: Annotated[str, Form()] = "", nominee: Annotated[str, Form()] = ""
    ) -> Response:
        return nominee_action(desk.withdraw, request, who, name, csrf, nominee, "withdraw")

    @router.post("/units/{name}/restore")
    def restore(
        request: Request, who: User, name: str, csrf: Annotated[str, Form()] = "", nominee: Annotated[str, Form()] = ""
    ) -> Response:
        return nominee_action(desk.restore, request, who, name, csrf, nominee, "restore")

    def submission_action(act, request: Request, who: User, name: str, csrf: str, submission_id: int, what: str):
        """Void a submission or take the void back (the desk's one home of each), then wait for the
        pipeline's re-check of the unit; a refusal is shown on the unit page."""
        auth.check_csrf(who, csrf)
        unit_or_404(name)
        row = store.submissions.get(submission_id)
        if row is None or row.unit_name != name:
            raise HTTPException(status_code=404, detail="该单位没有这次报送")
        try:
            act(submission_id)
        except ValueError as exc:
            return render_unit(request, who, name, error=str(exc))
        return back(name, what if desk.await_recheck(name, PIPELINE_WAIT_SECONDS) else "checking")

    @router.post("/units/{name}/void")
    def void(
        request: Request,
        who: User,
        name: str,
        csrf: Annotated[str, Form()] = "",
        submission_id: Annotated[int, Form()] = 0,
        reason: Annotated[str, Form()] = "",
    ) -> Response:
        act = partial(desk.void, actor=who.actor, reason=reason)
        return submission_action(act, request, who, name, csrf, submission_id, "void")

    @router.post("/units/{name}/unvoid")
    def unvoid(
        request: Request,
        who: User,
        name: str,
        csrf: Annotated[str, Form()] = "",
        submission_id: Annotated[int, Form()] = 0,
    ) -> Response:
        act = partial(desk.unvoid, actor=who.actor)
        return submission_action(act, request, who, name, csrf, submission_id, "unvoid")

    # ---- downloads ---------------------------------------------------------------------------

    @router.get("/units/{name}/raw/{raw_id}")
    def raw_mail(who: User, name: str, raw_id: int) -> Response:
        submission = store.submissions.for_raw(raw_id)
        record = store.raw.get(raw_id)
        if submission is None or record is None or submission.unit_name != name:
            raise HTTPException(status_code=404, detail="没有这封邮件")
        filename = f"{name}-第{submission.unit_index or raw_id}次报送.eml"
        return FileResponse(store.raw.path(record), media_type="message/rfc822", filename=filename)

    @router.get("/units/{name}/files/{file_id}/thumb")
    def photo(who: User, name: str, file_id: int, size: int = SIZES[0]) -> Response:
        record = views.unit_file(store, name, file_id)
        cache = {"Cache-Control": "private, max-age=86400"}
        return thumbnail_response(store, record, size, campaign.limits.max_image_pixels, cache)

    @router.get("/exports/roster.xlsx")
    def roster(who: User) -> Response:
        data = exports.roster_xlsx(store, campaign)
        return exports.xlsx_response(data, f"推荐名单-{desk.clock().astimezone(campaign.tz):%Y%m%d}.xlsx")

    @router.get("/exports/digest.xlsx")
    def digest(who: User) -> Response:
        now = desk.clock()
        data = exports.digest_xlsx(store, campaign, now)
        return exports.xlsx_response(data, f"每日汇总-{now.astimezone(campaign.tz):%Y%m%d}.xlsx")

    router.include_router(create_office_router(service, page, User, DashboardRoute, unit_or_404, PIPELINE_WAIT_SECONDS))
    return Dashboard(router, error_page)


def unmatched_handler(
    error_page: Callable[[Request, int, object], Response],
) -> Callable[[Request, Exception], Coroutine[Any, Any, Response]]:
    """The app's handler for errors raised outside the dashboard's routes (a URL no route matches)."""

    async def handle(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if request.url.path.startswith(NOT_DASHBOARD) or exc.status_code < 400:
            return await http_exception_handler(request, exc)
        detail = UNMATCHED_ZH.get(exc.status_code)
        response = await run_in_threadpool(error_page, request, exc.status_code, detail)
        response.headers.update(FRAME_HEADERS)
        return response

    return handle
