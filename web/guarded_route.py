"""One way for every web route to answer an error: a Chinese page, never FastAPI's English JSON.

The dashboard and the unit page differ in who may POST (a session, a valid link), which page a
refusal is and which headers every answer carries; what happens around the handler is the same, so
it lives here once: the guard runs before the body is read (a stranger's 300 MB upload is refused
unread), a redirect (< 400) passes as it is, an error becomes the route's page, and the headers go
on every answer, errors included.
"""

from collections.abc import Callable, Coroutine
from typing import Any, ClassVar

from fastapi import Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException


def error_message(status: int, detail: object) -> str:
    """What a person reads on an error page: our own Chinese detail, else a generic hint (FastAPI's
    422 detail is a list of English messages about the form's fields, never shown)."""
    if status == 422:
        return "请检查填写的内容后重新提交。"
    return detail if isinstance(detail, str) and detail else "请返回上一页重试。"


class GuardedRoute(APIRoute):
    """A route class: subclasses say who may come in (`guard`), what an error looks like
    (`error_response`, run in a thread: it may read the database) and which headers every answer
    carries (`answer_headers`)."""

    answer_headers: ClassVar[dict[str, str]] = {}

    async def guard(self, request: Request) -> None:
        """Raise an HTTPException (a redirect or a refusal) before the handler reads the body."""

    def error_response(self, request: Request, status: int, detail: object) -> Response:
        raise NotImplementedError

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                await self.guard(request)
                response = await handler(request)
            except StarletteHTTPException as exc:
                if exc.status_code < 400:  # a guard's redirect
                    response = Response(status_code=exc.status_code, headers=exc.headers)
                else:
                    response = await run_in_threadpool(self.error_response, request, exc.status_code, exc.detail)
            except RequestValidationError:
                response = await run_in_threadpool(self.error_response, request, 422, None)
            response.headers.update(self.answer_headers)
            return response

        return route
