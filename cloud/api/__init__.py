"""The HTTP API: FastAPI app over a CloudService. OpenAPI at /api/openapi.json, docs at /api/docs."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError

from cloud.api import ack_page, alarms, camera_config, events, live, media, nodes, series, system, users
from cloud.service import CloudService
from cloud.web import mount as mount_console
from edge import __version__


def create_app(svc: CloudService) -> FastAPI:
    app = FastAPI(
        title="gridwatch cloud",
        version=__version__,
        description="Events, evidence clips, nodes and statistics of gridwatch sites.",
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
    )
    app.state.service = svc
    for module in (system, users, events, alarms, ack_page, live, media, nodes, series, camera_config):
        app.include_router(module.router)
    mount_console(app)

    @app.exception_handler(DataError)
    async def unstorable(request: Request, exc: DataError) -> JSONResponse:
        # e.g. a NUL character in a query string, which PostgreSQL text cannot hold
        return JSONResponse({"detail": f"a value the database cannot handle: {str(exc.orig)[:200]}"}, 422)

    @app.middleware("http")
    async def count(request: Request, call_next):
        response = await call_next(request)
        svc.metrics.http_requests.labels(request.method, f"{response.status_code // 100}xx").inc()
        return response

    return app
