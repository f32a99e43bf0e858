"""Ficus's mitmproxy addon: the thin adapter between mitmproxy flows and the routing core.

Shaped like mitmproxy's own addons: `load()` declares options, `configure()` validates them and
fails fast with `OptionsError`, `request()` acts, `response()` may fall back and logs, `error()`
logs. Everything that decides is pure and lives elsewhere (`proxy.canonical_path`,
`domain.routing`, `proxy.headers`, `domain.identity`, `proxy.pins`, `domain.plans`); this
module only moves data between them and the flow. Besides `proxy/server.py` it is the only
module that imports mitmproxy.

Per request (the `request` hook, after mitmproxy has read and validated the whole request):

1. refuse method spellings and request-target forms two servers could read differently, then
   canonicalize the path (400 with the reason if it is ambiguous; `;` path parameters are kept
   for now, and matched without them);
2. strip hop-by-hop headers, every client forwarding claim (`Forwarded`, `X-Forwarded-*`,
   `X-Original-URL`, `True-Client-IP` ..., in any `_`/`-` spelling: `proxy.headers`) and every
   client `X-Ficus-*`, and re-frame a body with `Content-Length` (no chunked framing reaches an
   upstream);
3. read the legacy `SESSID` once, as the legacy app reads it (`_legacy_session_id`, the only
   reading: the cohort, the pins and the identity below all use its one value); decide the
   route, with the features the session's recent legacy writes pin to legacy
   (read-your-writes); a path with `;params` gets a 400 unless the route's plan sets
   `allow_path_params` (the legacy default route allows none); point the flow at the chosen
   upstream instance with the canonical path;
4. add `X-Ficus-Request-Id`, `X-Forwarded-For/Proto/Host`, and for an extracted service the
   signed `X-Ficus-Identity` resolved from that session id, looked up off the event loop,
   positive answers cached for half a second. No live session: no identity header, and the
   service answers the legacy 401 itself.

mitmproxy then forwards the flow. On the response (the `response` hook):

5. a read that a service answered 404 or 5xx in `canary`/`migrated`, or that the forwarder
   could not get answered (`upstream_*`: refused, timed out, reset, garbage, breaker open), is
   re-sent once to the legacy app (`proxy.fallback`, its own per-try deadline), whose answer
   replaces the service's (a generic 502 if legacy cannot answer either). Writes never;
6. a write that legacy accepted (< 400) on a route of feature F pins the session's reads of F
   to legacy for the plan's `pin_reads_after_write_seconds`;
7. hop-by-hop and `X-Ficus-*` headers are removed, the request is counted in route stats
   (feature, method, template, side; the service's answer before any fallback), and the access
   log line is written.

Routing state comes from two places: the plan files (`ficus_plans`: routes and their initial
phases) and, when `ficus_control_db` names a control-plane database, its route states (phase,
canary weight). `proxy.control_plane` polls that database from a thread, and on a change the
new table is compiled in that thread and swapped in by one assignment (`_apply_states`): no
restart, and a request sees the old table or the new one. Route stats go the other way
(`proxy.route_stats`, flushed from a thread about once a second).

Canary cohorts are looked up lazily (`_cohort_lookup`): the legacy session id read in step 3, a
header, a cookie or a query parameter (a path parameter is the routing core's own). A header,
cookie or query value given twice with different contents is no value: the request goes to
legacy. In `shadow`, a copy of the request goes to the service in the background
(`proxy.shadow`) while legacy answers.

Every answer the proxy makes itself is in the client's format (`domain.answers`: legacy JSON
on /api ...); `load()` makes mitmproxy's own error answers (a head it cannot parse, a body over
the limit) the proxy's too (`proxy.error_pages`), and the access log records their status.

Load it with `runproxy` (proxy/server.py, the curated master) or, for debugging, with
`mitmdump -s proxy/addon.py --mode reverse:http://127.0.0.1:8001 --set keep_host_header=true`.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Final

from mitmproxy import ctx, exceptions, http
from mitmproxy.addonmanager import Loader
from sqlalchemy import Engine, create_engine
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from domain.identity import (
    DEFAULT_TTL_SECONDS,
    DRY_RUN_HEADER,
    IDENTITY_HEADER,
    MAX_LIFETIME_SECONDS,
    REQUEST_ID_HEADER,
    Binding,
    DryRun,
    Identity,
    binding_for_target,
    check_key,
    legacy_cookie,
    sign_dry_run,
    sign_identity,
)
from domain.phases import SAFE_METHODS, Phase
from domain.plans import Plan, ShadowSettings, load_plans
from domain.route_table import (
    RouteStates,
    build_route_table,
    pin_windows,
    shadow_settings,
    upstream_health,
    upstream_instances,
)
from domain.routes import CohortLookup, Decision, RequestInfo, reaches_service
from domain.routing import RouteTable, decide, fall_back, pinned_feature, should_fall_back
from legacy_adapter.sessions import LegacySession, LegacySessionStore
from proxy import error_pages
from proxy.access_log import (
    NONE,
    STDERR,
    AccessLog,
    AccessRecord,
    iso_timestamp,
    refused_record,
)
from proxy.canonical_path import PathError, canonicalize_path, split_target, strip_params
from proxy.control_plane import ControlPlane, control_db_url, control_engine
from proxy.fallback import LegacyRetry, LegacyRetryError
from proxy.forwarder import FAILURES, answer_response, plain_response
from proxy.headers import (
    connection_tokens,
    hop_by_hop_names,
    is_client_claim,
    is_ficus_header,
    joined_cookie_crumbs,
    single_host,
    speaks_http2,
)
from proxy.pins import ReadPins
from proxy.refusals import HeadRefusal
from proxy.route_stats import RouteStats, StatsFlusher
from proxy.shadow import ShadowSender, shadow_headers, should_shadow
from proxy.tasks import spawn
from proxy.ttl_cache import TTLCache
from proxy.upstreams import Instance, UpstreamPool, build_pools

logger = logging.getLogger(__name__)

CHECKOUT: Final = Path(__file__).resolve().parent.parent
SESSION_COOKIE: Final = "SESSID"
# A logout, a deactivated user or a cut expiry in the legacy database reaches the services
# within this long (counted from the lookup that read the session), well inside 1 s with the
# request in flight; a busy session still costs at most two lookups a second.
SESSION_CACHE_SECONDS: Final = 0.5
SESSION_CACHE_ENTRIES: Final = 10_000
_STATE: Final = "ficus"
_CLIENT_DISCONNECTED: Final = "Client disconnected."  # mitmproxy's message, see _http1.py
# The access log's `error` for what mitmproxy answered itself, by status (else bad_request):
# 503 is a body refused for the body budget (proxy/body_budget.py), nobody's failure.
_MITMPROXY_ERRORS: Final = {408: "body_timeout", 413: "body_too_large", 503: "bodies_over_budget"}
_REQUEST_ID: Final = REQUEST_ID_HEADER.encode("ascii")
_FORWARDED_FOR: Final = b"X-Forwarded-For"
_FORWARDED_PROTO: Final = b"X-Forwarded-Proto"
_FORWARDED_HOST: Final = b"X-Forwarded-Host"
# What goes when no Connection header lists more (the common case: computed once).
_REQUEST_DROPPED: Final = hop_by_hop_names(())
_FRAMING: Final = frozenset({"connection", "transfer-encoding"})
_RESPONSE_HOP_BY_HOP: Final = hop_by_hop_names(()) - _FRAMING


class _FlowState:
    """What the addon remembers about a flow between its hooks (in `flow.metadata`).

    A plain class, not a dataclass: `mitmdump -s` executes this file without registering it in
    sys.modules, and dataclasses look their module up there.
    """

    __slots__ = (
        "counted",
        "decision",
        "error",
        "legacy_origin",
        "logged",
        "pin",
        "request_id",
        "session_id",
    )

    def __init__(self, request_id: str, error: str | None = None) -> None:
        self.request_id = request_id
        # The legacy session id, read once (`_legacy_session_id`): the cohort, the pins and the
        # identity all use this one value.
        self.session_id: str | None = None
        self.decision: Decision | None = None
        # A fixed reason for the access log, never request or upstream text.
        self.error = error
        # The legacy app's address, saved before the flow is pointed at a service: where a
        # failed read falls back to.
        self.legacy_origin: Instance | None = None
        # (session id, feature, seconds): what to pin if legacy accepts this write.
        self.pin: tuple[str, str, float] | None = None
        # Whether route stats and the access log have this request already (the response
        # hook, then the error hook when the client leaves while it is sent, is possible).
        self.counted = False
        self.logged = False


class FicusAddon:
    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.table = RouteTable.build(())
        self.pools: dict[str, UpstreamPool] = {}
        self.pin_seconds: dict[str, float] = {}
        # Read-your-writes pins by session digest, and the session cache; the clock is
        # injectable for tests.
        self._clock = clock
        self.pins = ReadPins(clock=clock)
        self._retry = LegacyRetry()
        self.access_log: AccessLog | None = None
        self._key: bytes | None = None
        self._engine: Engine | None = None
        self._sessions: LegacySessionStore | None = None
        self._cache: TTLCache[str, LegacySession] = self._session_cache()
        # Plans and the control plane's states: the two inputs of the table, kept so that a
        # change of either recompiles with the other. The lock orders the two writers (the
        # configure hook and the control-plane thread); readers just read `self.table`.
        self._plans: tuple[Plan, ...] = ()
        self._states: RouteStates | None = None
        self._table_lock = threading.Lock()
        self._control: ControlPlane | None = None
        self._control_engine: Engine | None = None
        self.stats = RouteStats()
        self._flusher: StatsFlusher | None = None
        self.shadow = ShadowSender()
        self.shadow_settings: dict[str, ShadowSettings] = {}
        self._closing: asyncio.Task[None] | None = None
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
            "ficus_control_db",
            str,
            control_db_url(),
            "SQLAlchemy URL of the control-plane database whose route states (phase, canary "
            "weight) the proxy follows, polled every 0.2 s, and where it writes route stats. "
            "Defaults to $FICUS_CONTROL_DB_URL, else $FICUS_DB_DEFAULT_URL; empty: plan-file "
            "phases only.",
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
        error_pages.install()

    def configure(self, updated: set[str]) -> None:
        if not self._configured:
            updated = updated | {
                "ficus_plans",
                "ficus_legacy_db",
                "ficus_access_log",
                "ficus_identity_key",
                "ficus_control_db",
            }
        if "ficus_plans" in updated:
            self._load_plans(Path(ctx.options.ficus_plans))
        if "ficus_control_db" in updated:
            self._open_control_plane(ctx.options.ficus_control_db)
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
            reaches_service(r) or r.phase is Phase.SHADOW for r in self.table.routes
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
        with self._table_lock:
            try:
                plans = load_plans(directory, environ=os.environ)
                table = build_route_table(plans, self._states)
                pools = build_pools(upstream_instances(plans), upstream_health(plans))
            except ValueError as e:
                raise _options_error(f"ficus_plans: {e}") from e
            # Swap at once: a request sees the old table with the old pools or the new with new.
            self._plans = plans
            self.shadow_settings = shadow_settings(plans)
            self.table, self.pools, self.pin_seconds = table, pools, pin_windows(plans)

    def _apply_states(self, states: RouteStates) -> None:
        """A new generation of route states (control-plane thread): compile, then swap."""
        with self._table_lock:
            table = build_route_table(self._plans, states)  # ValueError: the poller logs it
            self._states = states
            self.table = table

    def _open_control_plane(self, url: str) -> None:
        self._close_control_plane()
        if not url:
            return
        try:
            engine = control_engine(url)
        except ValueError as e:
            raise _options_error(f"ficus_control_db: {e}") from e
        self._control_engine = engine
        self._flusher = StatsFlusher(self.stats, engine)
        self._flusher.start()
        self._control = ControlPlane(engine, self._apply_states)
        self._control.start()

    def _close_control_plane(self) -> None:
        if self._control is not None:
            self._control.stop()
            self._control = None
        if self._flusher is not None:
            self._flusher.stop()  # after one last flush
            self._flusher = None
        if self._control_engine is not None:
            self._control_engine.dispose()
            self._control_engine = None

    def _open_sessions(self, url: str) -> None:
        try:
            engine = create_engine(url, pool_pre_ping=True)
        except (ArgumentError, ImportError, ValueError) as e:
            raise _options_error(f"ficus_legacy_db: {e}") from e
        if self._engine is not None:
            self._engine.dispose()
        self._engine = engine
        self._sessions = LegacySessionStore(engine)
        self._cache = self._session_cache()

    def _session_cache(self) -> TTLCache[str, LegacySession]:
        return TTLCache(
            ttl=SESSION_CACHE_SECONDS, max_entries=SESSION_CACHE_ENTRIES, clock=self._clock
        )

    def _open_access_log(self, target: str) -> None:
        try:
            access_log = AccessLog(target)
        except OSError as e:
            raise _options_error(f"ficus_access_log: cannot open {target}: {e}") from e
        if self.access_log is not None:
            self.access_log.close()
        self.access_log = access_log

    def done(self) -> asyncio.Task[None] | None:
        """Close what the addon opened. Returns the task closing the shadow copies, if any.

        Not a coroutine: mitmproxy calls `done` synchronously when it unloads a script, and
        awaits an awaitable a hook returns when it calls it from the event loop (at shutdown).
        """
        if self.access_log is not None:
            self.access_log.close()
            self.access_log = None
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
        self._close_control_plane()
        self._retry.close()
        if self.shadow.idle:
            return None
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return None  # no loop left: the shadow copies' sockets went with it
        self._closing = spawn(self.shadow.aclose())
        return self._closing

    def request(self, flow: http.HTTPFlow) -> Awaitable[None] | None:
        # Returns at once (run inline, proxy/connection_handler.py) unless the route is served
        # by a service: then the awaitable adds the signed identity, which may need the legacy
        # session store.
        if flow.response is not None or _STATE in flow.metadata:
            return None  # answered by another addon, or a replay we have already handled
        state = _FlowState(request_id=new_request_id())
        flow.metadata[_STATE] = state
        request = flow.request
        http2 = speaks_http2(flow.client_conn.alpn)
        try:
            path, query = _canonical_target(request, http2=http2)
        except PathError as e:
            state.error = "bad_request"
            flow.response = plain_response(400, f"Bad Request: {e}", request.data.path)
            return None
        forwarded_host = request.host_header
        _sanitize_request_headers(request)
        if http2 and (joined := joined_cookie_crumbs(request.data.headers.fields)) is not None:
            request.data.headers.fields = joined  # one Cookie header upstream, as legacy reads it
        # After the sanitizer: a Cookie header named in Connection is gone for legacy as well.
        session_id = state.session_id = _legacy_session_id(request)
        pinned: frozenset[str] = frozenset()
        if session_id is not None and len(self.pins):  # no hashing while nobody is pinned
            pinned = self.pins.pinned((session_id,))
        # `;params` are matched without their parameters, as servers that allow them read them.
        has_params = ";" in path
        matched = strip_params(path) if has_params else path
        decision = state.decision = decide(
            RequestInfo(request.method, matched, pinned, _cohort_lookup(request, session_id)),
            self.table,
        )
        if has_params and not decision.route.allow_path_params:
            state.error = "bad_request"
            state.counted = True  # refused by the proxy: nothing for the route's gates
            flow.response = plain_response(
                400,
                "Bad Request: ';' path parameters are not allowed on this route",
                request.data.path,
            )
            return None
        if (feature := pinned_feature(decision, request.method)) is not None:
            seconds = self.pin_seconds.get(feature, 0.0)
            if seconds > 0 and session_id is not None:
                state.pin = (session_id, feature, seconds)
        if decision.forward_path is not None:
            # A `match` trailing slash dropped: with parameters, drop its (empty) last segment.
            path = path[: path.rfind("/")] if has_params else decision.forward_path
        data = request.data
        data.path = path.encode("ascii") + (b"?" + query if query is not None else b"")
        if decision.to_legacy:
            authority = _authority(request.scheme, data.host, data.port)
        else:
            state.legacy_origin = Instance(request.scheme, data.host, data.port)
            instance = self.pools[decision.upstream].pick()
            # The data fields, then Host once: the property setters would rewrite Host each.
            data.scheme = instance.scheme.encode("ascii")
            data.host = instance.host
            data.port = instance.port
            authority = instance.authority
        _set_host(request, authority, http2=http2)
        # The sanitizer removed every client X-Ficus-* header and forwarding claim: append.
        added = [
            (_REQUEST_ID, state.request_id.encode("ascii")),
            (_FORWARDED_FOR, str(flow.client_conn.peername[0]).encode("ascii", "replace")),
            (_FORWARDED_PROTO, b"https" if flow.client_conn.tls else b"http"),
        ]
        if forwarded_host:
            added.append((_FORWARDED_HOST, forwarded_host.encode("utf-8", "surrogateescape")))
        data.headers.fields += tuple(added)
        if decision.shadowed:
            self._shadow(request, decision, state)
        if decision.to_legacy:
            return None
        if self._key is None:
            state.error = "identity_key_missing"
            flow.response = plain_response(503, "Service Unavailable", request.data.path)
            return None
        return self._add_identity(flow, state)

    async def _add_identity(self, flow: http.HTTPFlow, state: _FlowState) -> None:
        request = flow.request
        try:
            identity = await self._identity(request, state)
        except SQLAlchemyError:
            # Refuse rather than forward without identity: a 401 would log clinicians out.
            state.error = "session_store_unavailable"
            flow.response = plain_response(503, "Service Unavailable", request.data.path)
            return
        if identity is not None:
            request.headers[IDENTITY_HEADER] = identity

    async def _identity(self, request: http.Request, state: _FlowState) -> str | None:
        """The signed identity for the request's legacy session, or None if it has none."""
        # Bound to the request as forwarded: the path and query were canonicalized above.
        binding = binding_for_target(request.method, request.data.path)
        return await self._identity_for(state.session_id, state.request_id, binding)

    async def _identity_for(
        self, session_id: str | None, request_id: str, binding: Binding
    ) -> str | None:
        if not session_id or self._key is None or self._sessions is None:
            return None
        session = self._cache.get(session_id)
        if session is None:
            read_at = self._cache.now()
            session = await asyncio.to_thread(self._sessions.lookup, session_id)
            if session is None:
                return None
            remaining = session.expires_at.timestamp() - time.time()
            self._cache.put(session_id, session, ttl=remaining, since=read_at)
        now = time.time()
        expires_at = min(int(now) + DEFAULT_TTL_SECONDS, int(session.expires_at.timestamp()))
        if expires_at <= now:
            return None
        identity = Identity(session.user_id, session.login, session.role, expires_at, request_id)
        return sign_identity(identity, self._key, binding=binding, issued_at=int(now))

    def _shadow(self, request: http.Request, decision: Decision, state: _FlowState) -> None:
        """Send a copy of this request to the route's service in the background, if the plan
        samples it; never waits, never fails the request."""
        request_id = state.request_id
        settings = self.shadow_settings.get(decision.feature)
        pool = self.pools.get(decision.route.upstream)
        key = self._key
        if settings is None or pool is None or key is None:
            return
        method = request.method
        if not should_shadow(method, settings, request_id, can_sign_dry_run=True):
            return
        # A snapshot: the flow's request is re-pointed and may change after this hook.
        fields = list(request.headers.fields)
        session_id = state.session_id
        binding = binding_for_target(method, request.data.path)
        instance = pool.pick()
        timeout = settings.timeout_seconds
        route = decision.route

        async def headers() -> list[tuple[bytes, bytes]] | None:
            extra: list[tuple[str, str]] = []
            try:
                identity = await self._identity_for(session_id, request_id, binding)
            except SQLAlchemyError:
                return None  # no session store: the copy would only measure a refusal
            if identity is not None:
                extra.append((IDENTITY_HEADER, identity))
            if method not in SAFE_METHODS:
                issued = int(time.time())
                expires_at = min(issued + MAX_LIFETIME_SECONDS, int(time.time() + timeout) + 1)
                token = sign_dry_run(
                    DryRun(request_id, expires_at), key, binding=binding, issued_at=issued
                )
                extra.append((DRY_RUN_HEADER, token))
            return shadow_headers(fields, instance.authority, extra)

        def outcome(status: int | None, latency_ms: float) -> None:
            if self._flusher is not None:
                error = status is None or status >= 500
                self.stats.record(
                    route.feature,
                    method,
                    route.template,
                    "shadow",
                    error=error,
                    latency_ms=latency_ms,
                )

        self.shadow.submit(
            route.feature,
            settings.max_in_flight,
            headers,
            instance=instance,
            method=method,
            target=request.data.path,
            body=request.raw_content or b"",
            deadline=timeout,
            outcome=outcome,
        )

    def _count(self, flow: http.HTTPFlow, state: _FlowState, status: int | None) -> None:
        """Route stats for this request, once: its route, and the side that answered first."""
        decision = state.decision
        if self._flusher is None or decision is None or state.counted:
            return
        state.counted = True
        route = decision.route
        self.stats.record(
            route.feature,
            flow.request.method,
            route.template,
            "legacy" if decision.to_legacy else "service",
            # A forwarder failure (`upstream_*`) is the side's error whatever status it got.
            error=status is None or status >= 500 or state.error in FAILURES,
            latency_ms=(time.time() - flow.request.timestamp_start) * 1000,
        )

    def response(self, flow: http.HTTPFlow) -> Awaitable[None] | None:
        # Returns at once (proxy/connection_handler.py runs it inline) unless legacy must be
        # asked a read the service failed; then the awaitable finishes the answer.
        response = flow.response
        state = flow.metadata.get(_STATE)
        if response is None or not isinstance(state, _FlowState):
            return None
        self._count(flow, state, response.status_code)
        decision = state.decision
        if (
            decision is not None
            # The service's answer, or the forwarder's failure to get one (refused, timed out,
            # reset, garbage, breaker open); not an answer the proxy made itself (400, 503).
            and (state.error is None or state.error in FAILURES)
            and state.legacy_origin is not None
            and not response.stream  # a streamed body has already gone to the client
            and should_fall_back(decision, flow.request.method, response.status_code)
        ):
            return self._answer_from_legacy(flow, state, decision, state.legacy_origin)
        self._finish_response(flow, state, response)
        return None

    async def _answer_from_legacy(
        self, flow: http.HTTPFlow, state: _FlowState, decision: Decision, origin: Instance
    ) -> None:
        self._finish_response(flow, state, await self._fall_back(flow, state, decision, origin))

    def _finish_response(
        self, flow: http.HTTPFlow, state: _FlowState, response: http.Response
    ) -> None:
        if state.pin is not None and state.error is None and response.status_code < 400:
            session_id, feature, seconds = state.pin
            self.pins.pin((session_id,), feature, seconds)
        # Connection and Transfer-Encoding stay: mitmproxy frames the client hop with them.
        headers = response.headers
        fields = headers.fields
        connection = _values(fields, b"connection")
        remove = hop_by_hop_names(connection) - _FRAMING if connection else _RESPONSE_HOP_BY_HOP
        headers.fields = (
            *_without(fields, remove),
            (_REQUEST_ID, state.request_id.encode("ascii")),
        )
        self._log(flow, state, response.status_code)

    async def _fall_back(
        self, flow: http.HTTPFlow, state: _FlowState, decision: Decision, origin: Instance
    ) -> http.Response:
        """Ask legacy the read the service failed, once; its answer becomes the flow's.

        `state.error` keeps the service's failure (`upstream_timeout` ...) when legacy answers,
        so the access log shows it next to `fallback_from`; `fallback_failed` if legacy fails.
        """
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
            response = plain_response(
                502, "Bad Gateway: the upstream could not answer", request.data.path
            )
        else:
            response = answer_response(answer, request.method, started)
        flow.response = response
        return response

    def error(self, flow: http.HTTPFlow) -> None:
        state = flow.metadata.get(_STATE)
        gone = flow.error is not None and flow.error.msg == _CLIENT_DISCONNECTED
        if not isinstance(state, _FlowState):
            # Refused by mitmproxy before the request hook (malformed head or body): with the
            # status it answered, if it answered (a broken chunked body is just closed); or
            # gone before it (an HTTP/2 stream the client reset at once: proxy/h2_server.py).
            if gone:
                state = _FlowState(request_id=new_request_id(), error="client_disconnected")
                self._log(flow, state, None)
                return
            message = flow.error.msg if flow.error is not None else ""
            status = error_pages.answered_status(flow.request, message)
            error = _MITMPROXY_ERRORS.get(status or 0, "bad_request")
            state = _FlowState(request_id=new_request_id(), error=error)
            self._log(flow, state, status)
            return
        if state.logged:
            return  # answered and logged; the client left while the answer was sent
        if gone:
            state.error = "client_disconnected"
            self._log(flow, state, None)
            return
        # Only with `ficus_forwarding=mitmproxy`: Ficus's forwarder answers every failure
        # itself (a 502/503/504 with its `upstream_*` reason), and the response hook logs it.
        state.error = "upstream_failed"
        self._count(flow, state, None)
        self._log(flow, state, 502)

    def ficus_head_refused(self, refusal: HeadRefusal) -> None:
        """A head refused while it was read (proxy/head_limits.py): a line in the access log,
        as for any refusal before routing; no flow, so no route stats and no breaker."""
        if self.access_log is not None:
            self.access_log.write(
                refused_record(
                    started=refusal.started,
                    request_id=new_request_id(),
                    method=refusal.method,
                    status=refusal.status,
                    error=refusal.error,
                    client=refusal.client,
                    now=time.time(),
                )
            )

    def _log(self, flow: http.HTTPFlow, state: _FlowState, status: int | None) -> None:
        state.logged = True
        if self.access_log is None:
            return
        decision = state.decision
        started = flow.request.timestamp_start
        if decision is None:
            peer = flow.client_conn.peername
            record = refused_record(
                started=started,
                request_id=state.request_id,
                method=flow.request.method,
                status=status,
                error=state.error,
                client=str(peer[0]) if peer else NONE,
                now=time.time(),
            )
        else:
            record = AccessRecord(
                ts=iso_timestamp(started),
                request_id=state.request_id,
                method=flow.request.method,
                route=decision.template,
                feature=decision.feature,
                upstream=decision.upstream,
                phase=decision.phase.value,
                reason=decision.reason.value,
                status=status,
                duration_ms=round((time.time() - started) * 1000, 1),
                error=state.error,
                fallback_from=decision.fallback_from,
            )
        self.access_log.write(record)


def _options_error(message: str) -> exceptions.OptionsError:
    return exceptions.OptionsError(message)  # type: ignore[no-untyped-call]  # not annotated


def _canonical_target(request: http.Request, *, http2: bool) -> tuple[str, bytes | None]:
    """The canonical path and the untouched query, or PathError with a reason for the client.

    `http2`: the connection's protocol (`speaks_http2`), not the request line's version text."""
    if request.data.method != request.data.method.upper():
        raise PathError("method names are case-sensitive; this one is not upper case")
    if request.first_line_format == "absolute" and not http2:
        raise PathError("absolute-form request targets are not accepted")
    raw_path, query = split_target(request.data.path)
    # `;params` are kept here and refused after routing unless the route's plan allows them.
    return canonicalize_path(raw_path, allow_params=True), query


def _cohort_lookup(request: http.Request, session_id: str | None) -> CohortLookup:
    """The request's cohort values, parsed only when a canary route asks for one.

    The session cohort is `session_id`, the one the legacy app reads (`_legacy_session_id`),
    also under its cookie name. Any other value sent twice with different contents (a repeated
    header, cookie or query parameter) could put the request on either side, so it counts as
    no value, and legacy serves.
    """

    def lookup(kind: str, name: str) -> str | None:
        if kind == "session" or (kind == "cookie" and name == SESSION_COOKIE):
            return session_id
        if kind == "cookie":
            values = set(request.cookies.get_all(name))
        elif kind == "header":
            values = set(request.headers.get_all(name))
        elif kind == "query":
            values = set(request.query.get_all(name))
        else:
            return None
        return values.pop() if len(values) == 1 else None

    return lookup


def _legacy_session_id(request: http.Request) -> str | None:
    """The SESSID the legacy app would read from this request (its raw Cookie headers), or
    None if it names no session (no SESSID, or an empty one).

    The proxy's only reading of the legacy session cookie: cohorts, read-your-writes pins and
    the identity bridge all take it from here, so no request is one session for one of them and
    another session for the next.
    """
    return legacy_cookie(_values(request.data.headers.fields, b"cookie"), SESSION_COOKIE) or None


def new_request_id() -> str:
    """32 random hex digits: unique, and the first 8 a uniform draw (shadow sampling uses it).

    `os.urandom(16).hex()` rather than `uuid.uuid4().hex`: the same randomness, a quarter of
    the cost (no UUID object per request).
    """
    return os.urandom(16).hex()


@functools.lru_cache(maxsize=64)
def _authority(scheme: str, host: str, port: int) -> str:
    """The Host header for an origin (the legacy app is the same one request after request)."""
    return Instance(scheme, host, port).authority


def _set_host(request: http.Request, authority: str, *, http2: bool) -> None:
    """Exactly one Host toward the upstream (`single_host`), in one pass over the raw fields;
    for HTTP/2 and /3 `:authority` says the same, for mitmproxy's own view of the flow."""
    value = authority.encode("utf-8", "surrogateescape")
    request.data.headers.fields = single_host(request.data.headers.fields, value)
    if http2:
        request.data.authority = value


def _values(fields: tuple[tuple[bytes, bytes], ...], lower_name: bytes) -> list[str]:
    """The values of one header, straight from the raw fields (no multidict lookups)."""
    return [v.decode("latin-1") for n, v in fields if n.lower() == lower_name]


def _without(
    fields: tuple[tuple[bytes, bytes], ...],
    remove: frozenset[str],
    also: Callable[[str], bool] = is_ficus_header,
) -> tuple[tuple[bytes, bytes], ...]:
    """The fields minus the named headers and every header `also` names, in one pass: on a
    response every X-Ficus-* header, on a request every client claim (`is_client_claim`)."""
    return tuple(
        (n, v)
        for n, v in fields
        if (name := n.decode("latin-1").lower()) not in remove and not also(name)
    )


def _sanitize_request_headers(request: http.Request) -> None:
    headers = request.headers
    fields = headers.fields
    connection = _values(fields, b"connection")
    close = "close" in connection_tokens(connection)
    remove = hop_by_hop_names(connection) if connection else _REQUEST_DROPPED
    kept = _without(fields, remove, is_client_claim)
    if close:
        # Keep the client's wish: mitmproxy reads it to close both hops after this exchange.
        kept += ((b"Connection", b"close"),)
    if kept != fields:
        headers.fields = kept
    # The body is fully read; send it with a Content-Length so no chunked framing travels on.
    content = request.raw_content
    if content is not None and (content or "content-length" in headers or request.trailers):
        request.trailers = None
        headers["Content-Length"] = str(len(content))


addons = [FicusAddon()]
