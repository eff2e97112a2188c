"""The Starlette application: the page, its live fragment, the JSON snapshot, ``/metrics`` and the
reports jobs made. Every handler only reads the keeper's current view."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import jinja2
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from . import metrics
from .auth import TokenGate
from .model import Reader, Snapshot
from .snapshot import REFRESH_SECONDS, SnapshotKeeper

HERE = os.path.dirname(os.path.abspath(__file__))


def _clock(seconds: Any) -> str:
    """``1:05`` / ``1:02:03``; ``–`` when unknown."""
    if not isinstance(seconds, (int, float)):
        return "–"
    s = round(seconds)
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def _hours(seconds: Any) -> str:
    """Source time as ``h:mm:ss`` (hours of media, not of wall clock)."""
    return _clock(seconds)


def templates() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(os.path.join(HERE, "templates")),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters.update(clock=_clock, hours=_hours)
    return env


def create_app(
    reader: Reader, *, token: str | None = None, interval: float = REFRESH_SECONDS, title: str = "Proxx"
) -> Starlette:
    env = templates()
    fragment = env.get_template("fragment.html")
    page = env.get_template("page.html")

    def render(snapshot: Snapshot) -> str:
        return fragment.render(s=snapshot)

    keeper = SnapshotKeeper(reader, render, interval)
    expose = metrics.exposition(keeper)

    async def index(_request: Request) -> Response:
        view = keeper.view
        return HTMLResponse(
            page.render(
                title=title,
                source=view.snapshot.source,
                body=view.fragment,
                version=view.version,
                interval_ms=int(interval * 1000),
            )
        )

    async def live(_request: Request) -> Response:
        view = keeper.view
        return HTMLResponse(
            view.fragment, headers={"X-Snapshot-Version": str(view.version), "Cache-Control": "no-store"}
        )

    async def snapshot(_request: Request) -> Response:
        return Response(keeper.view.json, media_type="application/json", headers={"Cache-Control": "no-store"})

    async def prometheus(_request: Request) -> Response:
        return Response(expose(), media_type=metrics.CONTENT_TYPE)

    async def report(request: Request) -> Response:
        path = keeper.view.snapshot.reports.get(request.path_params["result"])
        if path is None or not os.path.isfile(path):
            return PlainTextResponse("no report for that job (or its file was moved)\n", status_code=404)
        return FileResponse(path, media_type="text/html")

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        keeper.start()
        try:
            yield
        finally:
            keeper.stop()

    middleware = [Middleware(TokenGate, token=token)] if token else []
    app = Starlette(
        routes=[
            Route("/", index),
            Route("/live", live),
            Route("/api/snapshot", snapshot),
            Route("/metrics", prometheus),
            Route("/report/{result:path}", report),
            Mount("/static", StaticFiles(directory=os.path.join(HERE, "static")), name="static"),
        ],
        middleware=middleware,
        lifespan=lifespan,
    )
    app.state.keeper = keeper
    return app
