"""The one HTTP port of `nomdesk serve`: health, the WeCom callback, and what plugs in above.

The dashboard lives on the floor above the desk (`web`), so the desk does not import it: it
plugs in through the `nomdesk.http` entry points (pyproject.toml), each a callable
`(app, service)` that adds its routes. Installed without the dashboard, the desk still serves
mail and WeCom.
"""

from __future__ import annotations

import logging
from importlib.metadata import entry_points

from fastapi import FastAPI

from nomdesk.service import Service

log = logging.getLogger(__name__)

HTTP_PLUGINS = "nomdesk.http"


def create_app(service: Service) -> FastAPI:
    app = FastAPI(title="Nomination Desk", docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/healthz")
    def healthz() -> dict[str, object]:
        return {"ok": True, "campaign": service.campaign.name}

    if service.bot is not None:
        from bot.callback import create_router

        app.include_router(create_router(service.bot))
    for plugin in entry_points(group=HTTP_PLUGINS):
        plugin.load()(app, service)
        log.debug("HTTP plugin %s mounted", plugin.name)
    return app
