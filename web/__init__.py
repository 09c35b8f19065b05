"""The office dashboard: campaign and unit pages, actions and downloads, behind an office login."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from nomdesk.service import Service

STATIC_DIR = Path(__file__).with_name("static")


def mount_dashboard(app: FastAPI, service: Service) -> None:
    """Add the dashboard to the service's one HTTP app (pages at `/`, styles at `/static`)."""
    from web.routes import create_router

    app.include_router(create_router(service))
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
