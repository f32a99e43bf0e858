"""The WSGI application: `create_app(engine, *, clock=None)` wires routes, sessions and errors.

The dispatcher does, in order: serve `/static/`; find the route (unknown `/api/...` path →
404/100, known path with the wrong method → 405/103); resolve the `SESSID` session when the route
needs one (API → 401/101, page → 302 to `/login`); check the role (API → 403/102, page → 403
page); call the handler; render `ApiError` as the contract's JSON body.

Logging: one access line per request with the route *template* (`/api/patients/{id}`), never the
raw path or query string, which carry patient ids and searched names. Unexpected errors are
logged with their traceback; the engine hides bound SQL parameters, so no PHI rides along.
"""

from __future__ import annotations

import logging
import mimetypes
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

from sqlalchemy import Engine

from demo.legacy import api_appointments, api_patients, api_session, auth, errors, pages, templates
from demo.legacy.http import Request, Response, html_response, json_response, redirect
from demo.legacy.legacy_time import Clock, utc_now
from demo.legacy.routes import Ctx, Match, Route, allowed_methods, resolve

STATIC_DIR = Path(__file__).with_name("static")
ROUTES: tuple[Route, ...] = (
    *api_appointments.ROUTES,
    *api_patients.ROUTES,
    *api_session.ROUTES,
    *pages.ROUTES,
)

access_log = logging.getLogger("demo.legacy.access")
error_log = logging.getLogger("demo.legacy")


def create_app(engine: Engine, *, clock: Clock | None = None) -> WSGIApplication:
    """The legacy app over this engine; `clock` (UTC-aware datetimes) is for tests."""
    return LegacyApp(engine, clock or utc_now, ROUTES, load_static(STATIC_DIR))


def load_static(directory: Path) -> dict[str, Response]:
    """Every file in static/ as a ready response, keyed by URL path; nothing else is served."""
    files = {}
    for path in sorted(directory.iterdir()):
        if path.is_file() and not path.name.startswith("."):
            content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            if content_type.startswith("text/") or content_type.endswith("javascript"):
                content_type += "; charset=utf-8"
            headers = [("Content-Type", content_type), ("Cache-Control", "no-cache")]
            files[f"/static/{path.name}"] = Response(200, headers, path.read_bytes())
    return files


class LegacyApp:
    def __init__(
        self, engine: Engine, clock: Clock, routes: Sequence[Route], static: dict[str, Response]
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.routes = routes
        self.static = static

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        started = time.perf_counter()
        request = Request.from_environ(environ)
        label = "<unmatched>"
        try:
            response, label = self.dispatch(request)
        except Exception:
            error_log.exception("unhandled error in %s %s", request.method, label)
            response = self._failure(request)
        body = b"" if request.method == "HEAD" else response.body
        headers = [*response.headers, ("Content-Length", str(len(response.body)))]
        start_response(response.status_line, headers)
        elapsed_ms = (time.perf_counter() - started) * 1000
        access_log.info("%s %s %d %.1fms", request.method, label, response.status, elapsed_ms)
        return [body]

    def dispatch(self, request: Request) -> tuple[Response, str]:
        """The response and the label to log for it (a route template, never the raw path)."""
        is_api = request.path == "/api" or request.path.startswith("/api/")
        if request.path.startswith("/static/"):
            return self._static(request), "/static/*"
        found, route, params = resolve(self.routes, request.method, request.path)
        if found is Match.PATH:
            return self._method_not_allowed(request, is_api), self._template_of(request.path)
        if route is None:
            if is_api:
                return _error_json(errors.no_such_service()), "<unmatched>"
            return _error_html(404, "PAGE NOT FOUND"), "<unmatched>"
        now = self.clock()
        session = None
        if route.roles is not None:
            session = auth.lookup(self.engine, request.cookies.get(auth.COOKIE_NAME), now)
            if session is None:
                refusal = _error_json(errors.not_logged_in()) if is_api else redirect("/login")
                return refusal, route.template
            if session.role_cd not in route.roles:
                if is_api:
                    return _error_json(errors.access_denied()), route.template
                return _error_html(403, "ACCESS DENIED", session), route.template
        ctx = Ctx(request=request, engine=self.engine, now=now, session=session, params=params)
        try:
            return route.handler(ctx), route.template
        except errors.ApiError as e:
            return _error_json(e), route.template

    def _static(self, request: Request) -> Response:
        response = self.static.get(request.path)
        if response is None:
            return _error_html(404, "PAGE NOT FOUND")
        if request.method not in ("GET", "HEAD"):
            return _error_html(405, "METHOD NOT ALLOWED", extra=[("Allow", "GET, HEAD")])
        return response

    def _method_not_allowed(self, request: Request, is_api: bool) -> Response:
        allow = [("Allow", ", ".join(allowed_methods(self.routes, request.path)))]
        if is_api:
            response = _error_json(errors.method_not_allowed())
            response.headers.extend(allow)
            return response
        return _error_html(405, "METHOD NOT ALLOWED", extra=allow)

    def _template_of(self, path: str) -> str:
        return next((r.template for r in self.routes if r.match(path) is not None), "<unmatched>")

    def _failure(self, request: Request) -> Response:
        if request.path.startswith("/api/"):
            return _error_json(errors.internal_error())
        return _error_html(500, "SYSTEM ERROR - PLEASE CALL THE HELP DESK")


def _error_json(error: errors.ApiError) -> Response:
    return json_response(error.body(), error.status)


def _error_html(
    status: int,
    text: str,
    user: auth.Session | None = None,
    extra: Sequence[tuple[str, str]] = (),
) -> Response:
    return html_response(templates.error_page(status, text, user), status, extra)
