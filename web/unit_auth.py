"""Who may open a unit's page: the holder of a valid link (`storage.unit_links`), nobody else.

Every unit-side route (the page, its actions, the resumable uploads, the compliant copies) calls
`unit_claim` first and answers through `UnitRoute`, so all of them refuse a bad link the same way
(expired: 410, revoked, tampered or unknown: 403, a Chinese page naming no unit) and all of them
carry `UNIT_HEADERS`: the token is in the URL, so no Referer may carry it to another site, no cache
may keep the page, and no other site may frame it.

CSRF: the page's forms carry `unit_csrf(token)`, a hash of the link token under a fixed label.
It needs no key: the token in the URL already is the capability (a forged form must name it, and
whoever knows it can open the page and read the field), so the field adds what a session's token
adds on the office side, a POST that a page merely linking here cannot make, and nothing less.

No `from __future__ import annotations`: FastAPI reads route signatures built on this module.
"""

import hashlib
import hmac
from pathlib import Path

from fastapi import HTTPException, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.templating import Jinja2Templates

from nomdesk.service import Service
from storage.unit_links import LinkClaim, LinkRefused
from web.guarded_route import GuardedRoute, error_message

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))
UNIT_HEADERS = {
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'",
    "Cache-Control": "no-store",
}
CSRF_LABEL = b"nomdesk.unit-page.csrf:"
STATUS = {LinkRefused.EXPIRED: 410}  # every other refusal is 403
TITLE_ZH = {400: "请求有误", 403: "无法打开", 404: "没有找到", 405: "无法完成操作", 410: "链接已过期", 413: "文件过大"}
TITLE_ZH[422] = "提交的内容不完整或格式不对"


def unit_claim(service: Service, token: str) -> LinkClaim:
    """The claim of a valid link now (the desk's clock); HTTPException 410/403 with the Chinese
    sentence otherwise."""
    try:
        return service.store.unit_links.verify(token, service.desk.clock())
    except LinkRefused as exc:
        raise HTTPException(status_code=STATUS.get(exc.reason, 403), detail=str(exc)) from None


def unit_csrf(token: str) -> str:
    return hashlib.sha256(CSRF_LABEL + token.encode()).hexdigest()


def check_unit_csrf(token: str, value: str | None) -> None:
    if not value or not hmac.compare_digest(value, unit_csrf(token)):
        raise HTTPException(status_code=403, detail="页面已过期，请刷新页面后重新操作。")


def refusal_page(request: Request, status: int, detail: object) -> Response:
    """A refusal on the unit side: Chinese, no unit data, the unit headers."""
    title = TITLE_ZH.get(status, "出错了")
    context = {"title": title, "message": error_message(status, detail), "code": status}
    response = TEMPLATES.TemplateResponse(request, "unit_portal_refused.html", context, status_code=status)
    response.headers.update(UNIT_HEADERS)
    return response


class UnitRoute(GuardedRoute):
    """A unit-side route: errors as the Chinese refusal page, the unit headers on every answer.
    Made by `unit_route(service)`, a POST's link is checked before its body is read: a stranger's
    300 MB form is refused unread, as the office's routes refuse one without a session."""

    service: Service | None = None
    answer_headers = UNIT_HEADERS

    async def guard(self, request: Request) -> None:
        token = request.path_params.get("token")
        if self.service is not None and request.method == "POST" and token is not None:
            await run_in_threadpool(unit_claim, self.service, token)

    def error_response(self, request: Request, status: int, detail: object) -> Response:
        return refusal_page(request, status, detail)


def unit_route(service: Service) -> type[UnitRoute]:
    """The route class of a router of unit-side routes (`APIRouter(route_class=unit_route(service))`)."""
    return type("ServiceUnitRoute", (UnitRoute,), {"service": service})
