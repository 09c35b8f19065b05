"""The office dashboard: campaign and unit pages, actions and downloads, behind an office login.

- `routes`: the pages and office actions (every route but the login page behind a login).
- `office_routes`: the office's own pages (联系人, 待确认, 群发, notes), included by `routes`.
- `views`: what the pages and downloads show, computed from the store; `office_views` for the
  office's own pages.
- `auth`: office logins, server-side sessions, CSRF tokens.
- `exports`: the downloads (the roster, the digest workbook), built by the same code as elsewhere.
- `fetch`: fetching a unit's large-file link for the office.
- `thumbs`: photo thumbnails from the blob store.
- `unit_portal` (routes), `unit_portal_views`, `unit_auth`: a unit's own page at `/u/<token>`,
  opened by a contact's signed link (`storage.unit_links`) and by nothing else.
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
    from web.transcode_routes import create_transcode_router

    dashboard = create_router(service)
    app.include_router(dashboard.router)
    app.include_router(create_transcode_router(service))  # compliant copies of videos, both sides
    from web.unit_portal import create_unit_router

    app.include_router(create_unit_router(service))  # a unit's own page at /u/<token>
    from web.unit_uploads import mount_unit_uploads

    mount_unit_uploads(app, service)  # a unit's resumable uploads (tus) at /u/<token>/tus/
    app.add_exception_handler(HTTPException, unmatched_handler(dashboard.error_page))
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
