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
    plugins = entry_points(group=HTTP_PLUGINS)
    for plugin in plugins:
        plugin.load()(app, service)
        log.info("mounted %s (%s) on the HTTP port", plugin.name, plugin.value)
    if not plugins:
        # Installed from an older checkout, or run without `pip install -e .`: say so, the office
        # would otherwise find no dashboard and no reason.
        log.warning("no dashboard: nothing is installed under the %s entry points (run scripts/setup)", HTTP_PLUGINS)
    return app
