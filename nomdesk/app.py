"""The one HTTP port of `nomdesk serve`: health now; the WeCom callback and dashboard mount here."""

from __future__ import annotations

from fastapi import FastAPI

from nomdesk.service import Service


def create_app(service: Service) -> FastAPI:
    app = FastAPI(title="Nomination Desk", docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/healthz")
    def healthz() -> dict[str, object]:
        return {"ok": True, "campaign": service.campaign.name}

    if service.bot is not None:
        from bot.callback import create_router

        app.include_router(create_router(service.bot))
    from web import mount_dashboard

    mount_dashboard(app, service)
    return app
