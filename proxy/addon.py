"""Ficus's mitmproxy addon: the thin adapter between mitmproxy flows and the routing core.

Shaped like mitmproxy's own addons: `load()` declares options, `configure()` validates them and
fails fast with `OptionsError`, `request()` acts, `response()` may fall back and logs, `error()`
logs. Everything that decides is pure and lives elsewhere (`proxy.canonical_path`,
`proxy.routing`, `proxy.headers`, `proxy.identity`, `proxy.pins`, `migration_plans.plans`); this
module only moves data between them and the flow. Besides `proxy/server.py` it is the only
module that imports mitmproxy.

Per request (the `request` hook, after mitmproxy has read and validated the whole request):

1. refuse method spellings and request-target forms two servers could read differently, then
   canonicalize the path (400 with the reason if it is ambiguous);
2. strip hop-by-hop headers, client `Forwarded`/`X-Forwarded-*` and every client `X-Ficus-*`,
   and re-frame a body with `Content-Length` (no chunked framing reaches an upstream);
3. decide the route, with the features the session's recent legacy writes pin to legacy
   (read-your-writes); point the flow at the chosen upstream instance with the canonical path;
4. add `X-Ficus-Request-Id`, `X-Forwarded-For/Proto/Host`, and for an extracted service the
   signed `X-Ficus-Identity` resolved from the legacy `SESSID` (looked up off the event loop,
   positive answers cached for a few seconds). No live session: no identity header, and the
   service answers the legacy 401 itself.

mitmproxy then forwards the flow. On the response (the `response` hook):

5. a read that a service answered 404 or 5xx in `canary`/`migrated` is re-sent once to the
   legacy app (`proxy.fallback`), whose answer replaces the service's (a generic 502 if legacy
   cannot answer either);
6. a write that legacy accepted (< 400) on a route of feature F pins the session's reads of F
   to legacy for the plan's `pin_reads_after_write_seconds`;
7. hop-by-hop and `X-Ficus-*` headers are removed, and the access log line is written.

mitmproxy's own error pages for upstream failures quote upstream
bytes ("Bad HTTP response line: b'...'"), so `load()` replaces them with generic ones.

Load it with `runproxy` (proxy/server.py, the curated master) or, for debugging, with
`mitmdump -s proxy/addon.py --mode reverse:http://127.0.0.1:8001 --set keep_host_header=true`.
"""

from __future__ import annotations

import asyncio
import html
import logging
import os
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Final

from mitmproxy import ctx, exceptions, http
from mitmproxy.addonmanager import Loader
from mitmproxy.net.http import status_codes
from mitmproxy.proxy.layers.http import _http1, _http2, _http3
from sqlalchemy import Engine, create_engine
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from legacy_adapter.sessions import LegacySession, LegacySessionStore
from migration_plans.plans import load_plans
from migration_plans.route_table import build_route_table, pin_windows, upstream_instances
from proxy.access_log import NONE, STDERR, AccessLog, AccessRecord, iso_timestamp
from proxy.canonical_path import PathError, canonicalize_path, split_target
from proxy.fallback import LegacyRetry, LegacyRetryError
from proxy.headers import (
    CLIENT_FORWARDING,
    REQUEST_ID_HEADER,
    connection_tokens,
    hop_by_hop_names,
    is_ficus_header,
)
from proxy.identity import DEFAULT_TTL_SECONDS, IDENTITY_HEADER, Identity, check_key, sign_identity
from proxy.pins import ReadPins
from proxy.routing import (
    LEGACY_UPSTREAM,
    Decision,
    RequestInfo,
    RouteTable,
    decide,
    fall_back,
    pinned_feature,
    serving_upstream,
    should_fall_back,
)
from proxy.ttl_cache import TTLCache
from proxy.upstreams import Instance, UpstreamPool, build_pools

logger = logging.getLogger(__name__)

CHECKOUT: Final = Path(__file__).resolve().parent.parent
SESSION_COOKIE: Final = "SESSID"
# A logout in the legacy app takes at most this long to reach the services.
SESSION_CACHE_SECONDS: Final = 5.0
SESSION_CACHE_ENTRIES: Final = 10_000
_STATE: Final = "ficus"
_CLIENT_DISCONNECTED: Final = "Client disconnected."  # mitmproxy's message, see _http1.py


class _FlowState:
    """What the addon remembers about a flow between its hooks (in `flow.metadata`).

    A plain class, not a dataclass: `mitmdump -s` executes this file without registering it in
    sys.modules, and dataclasses look their module up there.
    """

    __slots__ = ("decision", "error", "legacy_origin", "pin", "request_id")

    def __init__(self, request_id: str, error: str | None = None) -> None:
        self.request_id = request_id
        self.decision: Decision | None = None
        # A fixed reason for the access log, never request or upstream text.
        self.error = error
        # The legacy app's address, saved before the flow is pointed at a service: where a
        # failed read falls back to.
        self.legacy_origin: Instance | None = None
        # (session ids, feature, seconds): what to pin if legacy accepts this write.
        self.pin: tuple[frozenset[str], str, float] | None = None


class FicusAddon:
    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.table = RouteTable.build(())
        self.pools: dict[str, UpstreamPool] = {}
        self.pin_seconds: dict[str, float] = {}
        # Read-your-writes pins by session digest; the clock is injectable for tests.
        self.pins = ReadPins(clock=clock)
        self._retry = LegacyRetry()
        self.access_log: AccessLog | None = None
        self._key: bytes | None = None
        self._engine: Engine | None = None
        self._sessions: LegacySessionStore | None = None
        self._cache: TTLCache[str, LegacySession] = TTLCache(
            ttl=SESSION_CACHE_SECONDS, max_entries=SESSION_CACHE_ENTRIES
        )
        self._configured = False

    def load(self, loader: Loader) -> None:
        loader.add_option(
            "ficus_plans",
            str,
            os.environ.get("FICUS_PLANS_DIR", str(CHECKOUT / "migration_plans" / "plans")),
            "Directory of Ficus plan files (*.yaml) that declare the routes and their upstreams. "
            "Defaults to $FICUS_PLANS_DIR or the checkout's migration_plans/plans.",
        )
        loader.add_option(
            "ficus_legacy_db",
            str,
            os.environ.get(
                "LEGACY_DATABASE_URL", f"sqlite:///{CHECKOUT / 'var' / 'legacy.sqlite3'}"
            ),
            "SQLAlchemy URL of the legacy database, read for USER_SESSION when a request goes to "
            "an extracted service. Defaults to $LEGACY_DATABASE_URL.",
        )
        loader.add_option(
            "ficus_access_log",
            str,
            STDERR,
            "Where to append the JSON-lines access log (one line per request): a file path, "
            "or '-' for stderr.",
        )
        loader.add_option(
            "ficus_identity_key",
            str,
            "",
            "HMAC key that signs X-Ficus-Identity for the extracted services (at least 32 bytes). "
            "Empty means $FICUS_IDENTITY_KEY, which is better: options show in process lists.",
        )
        install_generic_error_pages()

    def configure(self, updated: set[str]) -> None:
        if not self._configured:
            updated = updated | {
                "ficus_plans",
                "ficus_legacy_db",
                "ficus_access_log",
                "ficus_identity_key",
            }
        if "ficus_plans" in updated:
            self._load_plans(Path(ctx.options.ficus_plans))
        if "ficus_legacy_db" in updated:
            self._open_sessions(ctx.options.ficus_legacy_db)
        if "ficus_access_log" in updated:
            self._open_access_log(ctx.options.ficus_access_log)
        if "ficus_identity_key" in updated:
            raw = ctx.options.ficus_identity_key or os.environ.get("FICUS_IDENTITY_KEY", "")
            try:
                self._key = check_key(raw.encode()) if raw else None
            except ValueError as e:
                raise _options_error(f"ficus_identity_key: {e}") from e
        if self._key is None and any(
            serving_upstream(r) != LEGACY_UPSTREAM for r in self.table.routes
        ):
            # Logged, not raised, for the reason given in running(); at start-up errorcheck
            # still turns this into exit status 1.
            logger.error(
                "routes are served by extracted services, but there is no identity key: set "
                "FICUS_IDENTITY_KEY (at least 32 bytes, shared with the services); until then "
                "those routes answer 503"
            )
        self._configured = True

    def running(self) -> None:
        # Checked once the proxy runs, and logged: errorcheck then stops a proxy that is
        # starting. Raising from configure() would not do: mitmproxy re-applies the previous
        # options after an OptionsError, and a cross-option complaint then hides the real one.
        if not ctx.options.keep_host_header:
            logger.error(
                "Ficus needs keep_host_header=true (runproxy sets it; with mitmdump add "
                "`--set keep_host_header=true`) to report the client's Host in X-Forwarded-Host"
            )
        if not ctx.options.mode or not all(m.startswith("reverse:") for m in ctx.options.mode):
            logger.error(
                "Ficus runs in reverse mode in front of the legacy app: "
                "--mode reverse:http://LEGACY_HOST:PORT"
            )

    def _load_plans(self, directory: Path) -> None:
        try:
            plans = load_plans(directory, environ=os.environ)
            table = build_route_table(plans)
            pools = build_pools(upstream_instances(plans))
        except ValueError as e:
            raise _options_error(f"ficus_plans: {e}") from e
        # Swap them at once: a request sees the old table with the old pools or the new with new.
        self.table, self.pools, self.pin_seconds = table, pools, pin_windows(plans)

    def _open_sessions(self, url: str) -> None:
        try:
            engine = create_engine(url, pool_pre_ping=True)
        except (ArgumentError, ImportError, ValueError) as e:
            raise _options_error(f"ficus_legacy_db: {e}") from e
        if self._engine is not None:
            self._engine.dispose()
        self._engine = engine
        self._sessions = LegacySessionStore(engine)
        self._cache = TTLCache(ttl=SESSION_CACHE_SECONDS, max_entries=SESSION_CACHE_ENTRIES)

    def _open_access_log(self, target: str) -> None:
        try:
            access_log = AccessLog(target)
        except OSError as e:
            raise _options_error(f"ficus_access_log: cannot open {target}: {e}") from e
        if self.access_log is not None:
            self.access_log.close()
        self.access_log = access_log

    def done(self) -> asyncio.Task[None] | None:
        """Close what the addon opened. Returns the task closing the fallback's connections.

        Not a coroutine: mitmproxy calls `done` synchronously when it unloads a script, and
        awaits an awaitable a hook returns when it calls it from the event loop (at shutdown).
        """
        if self.access_log is not None:
            self.access_log.close()
            self.access_log = None
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
        return self._retry.close()

    async def request(self, flow: http.HTTPFlow) -> None:
        if flow.response is not None or _STATE in flow.metadata:
            return  # answered by another addon, or a replay we have already handled
        state = _FlowState(request_id=uuid.uuid4().hex)
        flow.metadata[_STATE] = state
        request = flow.request
        try:
            path, query = _canonical_target(request)
        except PathError as e:
            state.error = "bad_request"
            flow.response = _plain_response(400, f"Bad Request: {e}")
            return
        forwarded_host = request.host_header
        _sanitize_request_headers(request)
        pinned: frozenset[str] = frozenset()
        if len(self.pins):  # no cookie parsing and hashing while nobody is pinned
            pinned = self.pins.pinned(_session_ids(request))
        decision = state.decision = decide(RequestInfo(request.method, path, pinned), self.table)
        if (feature := pinned_feature(decision, request.method)) is not None:
            seconds = self.pin_seconds.get(feature, 0.0)
            if seconds > 0 and (session_ids := _session_ids(request)):
                state.pin = (session_ids, feature, seconds)
        request.data.path = path.encode("ascii") + (b"?" + query if query is not None else b"")
        if not decision.to_legacy:
            state.legacy_origin = Instance(request.scheme, request.host, request.port)
            instance = self.pools[decision.upstream].pick()
            request.scheme = instance.scheme
            request.host = instance.host
            request.port = instance.port
        request.host_header = Instance(request.scheme, request.host, request.port).authority
        request.headers[REQUEST_ID_HEADER] = state.request_id
        request.headers["X-Forwarded-For"] = str(flow.client_conn.peername[0])
        request.headers["X-Forwarded-Proto"] = "https" if flow.client_conn.tls else "http"
        if forwarded_host:
            request.headers["X-Forwarded-Host"] = forwarded_host
        if decision.to_legacy:
            return
        if self._key is None:
            state.error = "identity_key_missing"
            flow.response = _plain_response(503, "Service Unavailable")
            return
        try:
            identity = await self._identity(request, state.request_id)
        except SQLAlchemyError:
            # Refuse rather than forward without identity: a 401 would log clinicians out.
            state.error = "session_store_unavailable"
            flow.response = _plain_response(503, "Service Unavailable")
            return
        if identity is not None:
            request.headers[IDENTITY_HEADER] = identity

    async def _identity(self, request: http.Request, request_id: str) -> str | None:
        """The signed identity for the request's legacy session, or None if it has none."""
        session_ids = set(request.cookies.get_all(SESSION_COOKIE))
        # Two different SESSID cookies (cookie tossing from a sibling path) prove nothing.
        if len(session_ids) != 1 or self._key is None or self._sessions is None:
            return None
        session_id = session_ids.pop()
        session = self._cache.get(session_id)
        if session is None:
            session = await asyncio.to_thread(self._sessions.lookup, session_id)
            if session is None:
                return None
            self._cache.put(session_id, session, ttl=session.expires_at.timestamp() - time.time())
        now = time.time()
        expires_at = min(int(now) + DEFAULT_TTL_SECONDS, int(session.expires_at.timestamp()))
        if expires_at <= now:
            return None
        identity = Identity(session.user_id, session.login, session.role, expires_at, request_id)
        return sign_identity(identity, self._key)

    async def response(self, flow: http.HTTPFlow) -> None:
        response = flow.response
        state = flow.metadata.get(_STATE)
        if response is None or not isinstance(state, _FlowState):
            return
        decision = state.decision
        if (
            decision is not None
            and state.error is None  # an upstream's answer, not one the proxy made itself
            and state.legacy_origin is not None
            and not response.stream  # a streamed body has already gone to the client
            and should_fall_back(decision, flow.request.method, response.status_code)
        ):
            response = await self._fall_back(flow, state, decision, state.legacy_origin)
        if state.pin is not None and state.error is None and response.status_code < 400:
            self.pins.pin(*state.pin)
        # Connection and Transfer-Encoding stay: mitmproxy frames the client hop with them.
        remove = hop_by_hop_names(response.headers.get_all("connection")) - {
            "connection",
            "transfer-encoding",
        }
        for name in _header_names(response.headers):
            if name in remove or is_ficus_header(name):
                del response.headers[name]
        response.headers[REQUEST_ID_HEADER] = state.request_id
        self._log(flow, state, response.status_code)

    async def _fall_back(
        self, flow: http.HTTPFlow, state: _FlowState, decision: Decision, origin: Instance
    ) -> http.Response:
        """Ask legacy the read the service failed, once; its answer becomes the flow's."""
        state.decision = fall_back(decision)
        request = flow.request
        started = time.time()
        try:
            answer = await self._retry.send(
                origin,
                request.method,
                request.data.path,
                request.headers.fields,
                request.raw_content or b"",
            )
        except LegacyRetryError:
            state.error = "fallback_failed"
            response = http.Response.make(
                502,
                _generic_error_page(502, ""),
                {"Content-Type": "text/html", "Cache-Control": "no-store"},
            )
        else:
            response = http.Response(
                http_version=answer.http_version.encode("ascii", "replace"),
                status_code=answer.status_code,
                reason=answer.reason,
                headers=answer.headers,
                content=answer.body,
                trailers=None,
                timestamp_start=started,
                timestamp_end=time.time(),
            )
        flow.response = response
        return response

    def error(self, flow: http.HTTPFlow) -> None:
        state = flow.metadata.get(_STATE)
        if not isinstance(state, _FlowState):
            # Refused by mitmproxy before the request hook (malformed head or body).
            state = _FlowState(request_id=uuid.uuid4().hex, error="bad_request")
            self._log(flow, state, None)
            return
        if flow.error is not None and flow.error.msg == _CLIENT_DISCONNECTED:
            state.error = "client_disconnected"
            self._log(flow, state, None)
            return
        state.error = "upstream_failed"
        self._log(flow, state, 502)

    def _log(self, flow: http.HTTPFlow, state: _FlowState, status: int | None) -> None:
        if self.access_log is None:
            return
        decision = state.decision
        started = flow.request.timestamp_start
        self.access_log.write(
            AccessRecord(
                ts=iso_timestamp(started),
                request_id=state.request_id,
                method=flow.request.method,
                route=decision.template if decision else NONE,
                feature=decision.feature if decision else NONE,
                upstream=decision.upstream if decision else NONE,
                phase=decision.phase.value if decision else NONE,
                reason=decision.reason.value if decision else NONE,
                status=status,
                duration_ms=round((time.time() - started) * 1000, 1),
                error=state.error,
                fallback_from=decision.fallback_from if decision else None,
            )
        )


def _options_error(message: str) -> exceptions.OptionsError:
    return exceptions.OptionsError(message)  # type: ignore[no-untyped-call]  # not annotated


def _canonical_target(request: http.Request) -> tuple[str, bytes | None]:
    """The canonical path and the untouched query, or PathError with a reason for the client."""
    if request.data.method != request.data.method.upper():
        raise PathError("method names are case-sensitive; this one is not upper case")
    if request.first_line_format == "absolute" and not (request.is_http2 or request.is_http3):
        raise PathError("absolute-form request targets are not accepted")
    raw_path, query = split_target(request.data.path)
    return canonicalize_path(raw_path), query


def _session_ids(request: http.Request) -> frozenset[str]:
    """The request's legacy session ids: usually one; several when cookies were tossed."""
    return frozenset(v for v in request.cookies.get_all(SESSION_COOKIE) if v)


def _header_names(headers: http.Headers) -> set[str]:
    return {name.lower() for name in headers.keys()}  # noqa: SIM118 - a multidict view


def _sanitize_request_headers(request: http.Request) -> None:
    headers = request.headers
    connection = headers.get_all("connection")
    close = "close" in connection_tokens(connection)
    remove = hop_by_hop_names(connection) | CLIENT_FORWARDING
    for name in _header_names(headers):
        if name in remove or is_ficus_header(name):
            del headers[name]
    if close:
        # Keep the client's wish: mitmproxy reads it to close both hops after this exchange.
        headers["Connection"] = "close"
    # The body is fully read; send it with a Content-Length so no chunked framing travels on.
    content = request.raw_content
    if content is not None and (content or "content-length" in headers or request.trailers):
        request.trailers = None
        headers["Content-Length"] = str(len(content))


def _plain_response(status: int, text: str) -> http.Response:
    return http.Response.make(
        status,
        text + "\n",
        {"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"},
    )


def _generic_error_page(status_code: int, message: str) -> bytes:
    """mitmproxy's error page, without upstream text: for 5xx the message is dropped."""
    reason = status_codes.RESPONSES.get(status_code, "Error")
    detail = f"<p>{html.escape(message)}</p>" if status_code < 500 else ""
    return (
        f"<html><head><title>{status_code} {reason}</title></head>"
        f"<body><h1>{status_code} {reason}</h1>{detail}</body></html>"
    ).encode()


def install_generic_error_pages() -> None:
    """Make mitmproxy's own error responses generic for upstream failures (5xx).

    mitmproxy builds those pages from its error message, which quotes what the upstream sent
    (and names internal addresses). mitmproxy offers no hook for that page, so Ficus replaces
    the function its HTTP/1, /2 and /3 layers call (pinned: mitmproxy 11.0.2; a test in
    tests/proxy/test_runproxy.py sends upstream garbage and fails if this stops working).
    """
    for module in (_http1, _http2, _http3):
        module.format_error = _generic_error_page  # type: ignore[attr-defined]


addons = [FicusAddon()]
