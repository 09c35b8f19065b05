"""The office dashboard: campaign and unit pages, actions and downloads, behind an office login.

- `routes`: the pages and office actions (every route but the login page behind a login).
- `office_routes`: the office's own pages (联系人, 待确认, 群发, notes), included by `routes`.
- `views`: what the pages and downloads show, computed from the store; `office_views` for the
  office's own pages.
- `auth`: office logins, server-side sessions, CSRF tokens.
- `exports`: the downloads (the roster, the digest workbook), built by the same code as elsewhere.
- `fetch`: fetching a unit's large-file link for the office.
- `thumbs`: photo thumbnails from the blob store.
- `templates/` (Jinja pages) and `static/` (styles).

The desk does not import this package: `mount_dashboard` below plugs it into `nomdesk serve`'s
one HTTP app through the `nomdesk.http` entry point in pyproject.toml (nomdesk/app.py loads it).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # importing a helper (web.fetch) must not load the service and FastAPI with it
    from fastapi import FastAPI

    from nomdesk.service import Service

STATIC_DIR = Path(__file__).with_name("static")


def mount_dashboard(app: FastAPI, service: Service) -> None:
    """Add the dashboard to the service's one HTTP app (pages at `/`, styles at `/static`)."""
    from fastapi.staticfiles import StaticFiles
    from starlette.exceptions import HTTPException

    from web.routes import create_router, unmatched_handler

    dashboard = create_router(service)
    app.include_router(dashboard.router)
    app.add_exception_handler(HTTPException, unmatched_handler(dashboard.error_page))
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
