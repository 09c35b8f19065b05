"""The office dashboard: campaign and unit pages, actions and downloads, behind an office login."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from nomdesk.service import Service

STATIC_DIR = Path(__file__).with_name("static")


def mount_dashboard(app: FastAPI, service: Service) -> None:
    """Add the dashboard to the service's one HTTP app (pages at `/`, styles at `/static`)."""
    from starlette.exceptions import HTTPException

    from web.routes import create_router, unmatched_handler

    dashboard = create_router(service)
    app.include_router(dashboard.router)
    app.add_exception_handler(HTTPException, unmatched_handler(dashboard.error_page))
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
