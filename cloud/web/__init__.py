"""The web console: one HTML shell for every page, ES modules and CSS served by the app.

No build step and no third-party front-end code: the console must work on an intranet with
no internet, and a control room should not depend on a CDN or an npm toolchain to keep
running. The shell and the scripts hold no data; everything they show comes from the
authenticated API, so an unauthenticated visitor gets the login form and nothing else.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"
# Every console page is the same shell; the script renders the page named by the path.
PAGES = ("/", "/login", "/alarms", "/events/{event_id}", "/board", "/heatmap", "/m", "/install")

router = APIRouter(include_in_schema=False)


def _shell() -> FileResponse:
    return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})


for _page in PAGES:
    router.add_api_route(_page, _shell, methods=["GET"])


def mount(app: FastAPI) -> None:
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
