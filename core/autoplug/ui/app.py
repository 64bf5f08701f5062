"""The viewer's Starlette application: its routes, pages and JSON.

Every page is also JSON at the same path with ``.json``:

- ``/runs`` and ``/runs.json``: the runs (``status``, ``q``, ``before``, ``limit``);
- ``/runs/RUN_ID`` and ``/runs/RUN_ID.json``: one run;
- ``/runs/RUN_ID/live?v=VERSION``: the run's body when it changed since VERSION
  (204 when not), which the page polls while the run is running;
- ``/runs/RUN_ID/assets/NAME``: an asset, found by name in the run's manifest;
- ``/memory`` and ``/memory.json``: memory search (``q``, ``k``);
- ``/static/NAME``: the stylesheet and script shipped with the package.

Handlers are plain functions: Starlette runs them in its thread pool, so file
and SQLite reads never block the event loop.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from ..errors import RunError
from ..runs import UnknownRunError
from .gate import Gate
from .graph import render_svg
from .listing import DEFAULT_LIMIT, FILTER_STATUSES, RunIndex
from .memory_view import search_memory
from .run_view import asset_download, build_run_page, run_version

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
#: The files ``/static/`` serves, by name, with their media types: nothing else.
STATIC_FILES = {
    "ui.css": "text/css; charset=utf-8",
    "ui.js": "text/javascript; charset=utf-8",
    "favicon.svg": "image/svg+xml",
}


class BadRequest(ValueError):
    """A query parameter that cannot be used; the message names it."""


def _json(data: Any, status: int = 200) -> Response:
    body = json.dumps(data, ensure_ascii=False, default=str, indent=1)
    return Response(body, status_code=status, media_type="application/json")


def _int_param(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise BadRequest(f"query parameter {name!r} must be an integer, got {raw!r}") from None


def _fmt_seconds(value: Any) -> str:
    if not isinstance(value, int | float):
        return "-"
    if value < 1:
        return f"{value * 1000:.0f} ms"
    if value < 60:
        return f"{value:.1f} s" if value < 10 else f"{value:.0f} s"
    minutes, seconds = divmod(int(value), 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def _fmt_usd(value: Any) -> str:
    return f"${value:.4f}" if isinstance(value, int | float) else "-"


def _pretty(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, default=str)


class Viewer:
    """The pages over one home; ``kernel`` is used for memory search only."""

    def __init__(self, home: Path, kernel: Any) -> None:
        self.home = Path(home)
        self.kernel = kernel
        self.index = RunIndex(self.home)
        self.templates = Environment(
            loader=FileSystemLoader(str(HERE / "templates")),
            autoescape=select_autoescape(default=True, default_for_string=True),
        )
        self.templates.filters.update(seconds=_fmt_seconds, usd=_fmt_usd, pretty=_pretty)
        self.templates.globals.update(statuses=FILTER_STATUSES, render_svg=render_svg)

    def render(self, template: str, code: int = 200, **context: Any) -> HTMLResponse:
        """Template ``template`` rendered with ``context``, with HTTP status ``code``."""
        html = self.templates.get_template(template).render(**context)
        return HTMLResponse(html, status_code=code)

    def error(self, request: Request, status: int, message: str) -> Response:
        """An error as JSON (for ``.json`` paths) or as a page."""
        if request.url.path.endswith(".json"):
            return _json({"error": message}, status)
        return self.render("error.html", status, status=status, message=message)

    # -- pages ----------------------------------------------------------------

    def home_page(self, request: Request) -> Response:
        """``/``: the runs."""
        return RedirectResponse("/runs", status_code=307)

    def runs(self, request: Request) -> Response:
        """``/runs`` and ``/runs.json``."""
        try:
            page = self.index.page(
                status=request.query_params.get("status") or None,
                q=request.query_params.get("q", ""),
                before=request.query_params.get("before") or None,
                limit=_int_param(request, "limit", DEFAULT_LIMIT),
            )
        except ValueError as exc:
            return self.error(request, 400, str(exc))
        if request.url.path.endswith(".json"):
            return _json(page.to_dict())
        keep = {k: v for k, v in (("status", page.status), ("q", page.q)) if v}
        if page.limit != DEFAULT_LIMIT:
            keep["limit"] = str(page.limit)
        older = f"/runs?{urlencode({**keep, 'before': page.next})}" if page.next else None
        newest = f"/runs?{urlencode(keep)}" if page.before else None
        json_href = (
            f"/runs.json?{urlencode({**keep, **({'before': page.before} if page.before else {})})}"
        )
        return self.render("runs.html", page=page, older=older, newest=newest, json_href=json_href)

    def run(self, request: Request) -> Response:
        """``/runs/RUN_ID`` and ``/runs/RUN_ID.json``."""
        run_id = request.path_params["run_id"]
        try:
            page = build_run_page(self.home, run_id)
        except UnknownRunError as exc:
            return self.error(request, 404, str(exc))
        except RunError as exc:
            return self.error(request, 500, str(exc))
        if request.url.path.endswith(".json"):
            return _json(page.data)
        return self.render("run.html", run=page.data, layouts=dict(page.layouts))

    def live(self, request: Request) -> Response:
        """``/runs/RUN_ID/live?v=VERSION``: the run's body if it changed, else 204."""
        run_id = request.path_params["run_id"]
        if request.query_params.get("v") == run_version(self.home, run_id):
            return Response(status_code=204)
        try:
            page = build_run_page(self.home, run_id)
        except UnknownRunError as exc:
            return self.error(request, 404, str(exc))
        except RunError as exc:
            return self.error(request, 500, str(exc))
        response = self.render("run_body.html", run=page.data, layouts=dict(page.layouts))
        response.headers["x-run-version"] = page.version
        response.headers["x-run-live"] = "1" if page.data["live"] else "0"
        response.headers["cache-control"] = "no-store"
        return response

    def asset(self, request: Request) -> Response:
        """``/runs/RUN_ID/assets/NAME``: a download, or an image shown inline with ``?inline=1``."""
        run_id, name = request.path_params["run_id"], request.path_params["name"]
        try:
            found = asset_download(self.home, run_id, name)
        except UnknownRunError as exc:
            return self.error(request, 404, str(exc))
        except KeyError as exc:
            return self.error(request, 404, f"run {run_id!r}: {exc.args[0]}")
        except RunError as exc:
            return self.error(request, 500, str(exc))
        inline = request.query_params.get("inline") == "1" and found.media_type.startswith("image/")
        disposition = "inline" if inline else "attachment"
        headers = {"content-disposition": f'{disposition}; filename="{found.filename}"'}
        return Response(found.body, media_type=found.media_type, headers=headers)

    def memory(self, request: Request) -> Response:
        """``/memory`` and ``/memory.json``: search long-term memory (nothing is written)."""
        query = request.query_params.get("q", "")
        try:
            answer = search_memory(self.kernel, query, _int_param(request, "k", 10))
        except ValueError as exc:
            return self.error(request, 400, str(exc))
        if request.url.path.endswith(".json"):
            return _json(answer.to_dict())
        json_href = f"/memory.json?{urlencode({'q': query, 'k': answer.k})}"
        return self.render("memory.html", answer=answer, json_href=json_href)

    def static(self, request: Request) -> Response:
        """``/static/NAME``: one of :data:`STATIC_FILES`, from the package."""
        name = request.path_params["name"]
        if name not in STATIC_FILES:
            return self.error(request, 404, f"no static file {name!r}")
        return Response((STATIC / name).read_bytes(), media_type=STATIC_FILES[name])

    def not_found(self, request: Request, exc: Exception) -> Response:
        """Any other path."""
        return self.error(request, 404, f"no page at {request.url.path}")


def build_app(
    home: Path, kernel: Any, *, token: str | None, port: int, warm_after_s: float | None = 1.0
) -> Gate:
    """The viewer over ``home`` behind its :class:`Gate` (token None: loopback, no token).

    ``warm_after_s``: start reading every run's row into the listing's cache after
    that many seconds, in a background thread (None: never; rows are read as pages
    need them).
    """
    viewer = Viewer(home, kernel)
    if warm_after_s is not None:
        timer = threading.Timer(warm_after_s, viewer.index.warm)
        timer.daemon = True  # a server stopping mid-way leaves nothing to finish
        timer.start()
    routes = [
        Route("/", viewer.home_page),
        Route("/runs", viewer.runs),
        Route("/runs.json", viewer.runs),
        Route("/runs/{run_id}.json", viewer.run),
        Route("/runs/{run_id}", viewer.run),
        Route("/runs/{run_id}/live", viewer.live),
        Route("/runs/{run_id}/assets/{name:path}", viewer.asset),
        Route("/memory", viewer.memory),
        Route("/memory.json", viewer.memory),
        Route("/static/{name}", viewer.static),
    ]
    app = Starlette(routes=routes, exception_handlers={404: viewer.not_found})
    return Gate(app, token=token, port=port)
