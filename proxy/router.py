"""The routing addon: decide the route of a sanitized request and point the flow at it.

With the session's read-your-writes pins (the features its recent legacy writes pin to
legacy), the canary cohort and the body's RPC call (`proxy.rpc_body`) looked up lazily,
`domain.routing.decide` picks the route; a path
with `;params` gets a 400 unless the route's plan sets `allow_path_params` (the legacy default
route allows none). The flow is pointed at the chosen upstream instance with the canonical
path and exactly one Host (legacy: the client's unless `--legacy-host-header rewrite`,
`proxy.host_header`; a service: its instance's authority), and gets `X-Ficus-Request-Id`
and `X-Forwarded-For/Proto/Host`.
What is left, the router says in the flow state: a shadow copy (`proxy.shadow_copies`), the
signed identity (`proxy.identity_bridge`), the pin a legacy write earns (`proxy.responses`).
"""

from __future__ import annotations

import functools
from typing import Final

from mitmproxy import ctx, http
from mitmproxy.addonmanager import Loader

from domain.identity import REQUEST_ID_HEADER
from domain.legacy_session import CredentialKind
from domain.routes import CohortLookup, RequestInfo
from domain.routing import decide, pinned_feature
from proxy.canonical_path import strip_params
from proxy.flow_responses import plain_response
from proxy.flow_state import state_of
from proxy.headers import single_host, speaks_http2
from proxy.host_header import OPTION as HOST_HEADER_OPTION
from proxy.host_header import HostHeader, declare, legacy_authority
from proxy.rpc_body import rpc_lookup
from proxy.runtime import Runtime
from proxy.sanitizer import SESSION_COOKIE
from proxy.upstreams import Instance, UpstreamPool

# The name mitmproxy knows this addon by (its class name, lower case): the forwarder's health
# checks find the upstream pools through it.
ROUTER_ADDON: Final = "router"
_REQUEST_ID: Final = REQUEST_ID_HEADER.encode("ascii")
_FORWARDED_FOR: Final = b"X-Forwarded-For"
_FORWARDED_PROTO: Final = b"X-Forwarded-Proto"
_FORWARDED_HOST: Final = b"X-Forwarded-Host"


class Router:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.legacy_host = HostHeader.PRESERVE

    def load(self, loader: Loader) -> None:
        declare(loader)

    def configure(self, updated: set[str]) -> None:
        self.legacy_host = HostHeader(getattr(ctx.options, HOST_HEADER_OPTION))

    def running(self) -> None:
        # A value set while this addon was being added reaches no configure() of ours.
        self.configure({HOST_HEADER_OPTION})

    @property
    def pools(self) -> dict[str, UpstreamPool]:
        return self.runtime.plans.pools

    def request(self, flow: http.HTTPFlow) -> None:
        state = state_of(flow)
        if flow.response is not None or state is None or state.decision is not None:
            return  # refused, answered by another addon, or a replay already routed
        path, query, session_id = state.path, state.query, state.session_id
        if path is None:
            return
        request = flow.request
        plans, pins = self.runtime.plans, self.runtime.pins
        pinned: frozenset[str] = frozenset()
        if session_id is not None and len(pins):  # no hashing while nobody is pinned
            pinned = pins.pinned((session_id,))
        # `;params` are matched without their parameters, as servers that allow them read them.
        has_params = ";" in path
        matched = strip_params(path) if has_params else path
        decision = state.decision = decide(
            RequestInfo(
                request.method,
                matched,
                pinned,
                cohort_lookup(request, session_id, session_cookie(self.runtime)),
                rpc_lookup(request),
            ),
            plans.table,
        )
        if has_params and not decision.route.allow_path_params:
            state.error = "bad_request"
            state.counted = True  # refused by the proxy: nothing for the route's gates
            flow.response = plain_response(
                400,
                "Bad Request: ';' path parameters are not allowed on this route",
                request.data.path,
            )
            return
        if (feature := pinned_feature(decision)) is not None:
            seconds = plans.pin_seconds.get(feature, 0.0)
            if seconds > 0 and session_id is not None:
                state.pin = (session_id, feature, seconds)
        if decision.forward_path is not None:
            # A `match` trailing slash dropped: with parameters, drop its (empty) last segment.
            path = path[: path.rfind("/")] if has_params else decision.forward_path
        data = request.data
        data.path = path.encode("ascii") + (b"?" + query if query is not None else b"")
        if decision.to_legacy:
            own = _authority(request.scheme, data.host, data.port)
            authority = legacy_authority(self.legacy_host, state.forwarded_host, own)
        else:
            state.legacy_origin = Instance(request.scheme, data.host, data.port)
            instance = plans.pools[decision.upstream].pick()
            # The data fields, then Host once: the property setters would rewrite Host each.
            data.scheme = instance.scheme.encode("ascii")
            data.host = instance.host
            data.port = instance.port
            authority = instance.authority
            state.legacy_host = legacy_authority(
                self.legacy_host, state.forwarded_host, state.legacy_origin.authority
            )
        set_host(request, authority, http2=speaks_http2(flow.client_conn.alpn))
        # The sanitizer removed every client X-Ficus-* header and forwarding claim: append.
        added = [
            (_REQUEST_ID, state.request_id.encode("ascii")),
            (_FORWARDED_FOR, str(flow.client_conn.peername[0]).encode("ascii", "replace")),
            (_FORWARDED_PROTO, b"https" if flow.client_conn.tls else b"http"),
        ]
        if forwarded_host := state.forwarded_host:
            added.append((_FORWARDED_HOST, forwarded_host.encode("utf-8", "surrogateescape")))
        data.headers.fields += tuple(added)
        state.needs_shadow = decision.shadowed
        state.needs_identity = not decision.to_legacy


def session_cookie(runtime: Runtime) -> str | None:
    """The cookie that carries the legacy session (the plans' `legacy_session:`), if a cookie
    does: a cohort keyed by that cookie is the session cohort."""
    settings = runtime.identities.settings
    return settings.name if settings.credential is CredentialKind.COOKIE else None


def cohort_lookup(
    request: http.Request, session_id: str | None, session_cookie: str | None = SESSION_COOKIE
) -> CohortLookup:
    """The request's cohort values, parsed only when a canary route asks for one.

    The session cohort is `session_id`, the session key the sanitizer read once (from the
    plans' `legacy_session:` credential), also under its cookie name when a cookie carries it.
    Any other value sent twice with different contents (a repeated header, cookie or query
    parameter) could put the request on either side, so it counts as no value, and legacy
    serves.
    """

    def lookup(kind: str, name: str) -> str | None:
        if kind == "session" or (kind == "cookie" and name == session_cookie):
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


@functools.lru_cache(maxsize=64)
def _authority(scheme: str, host: str, port: int) -> str:
    """The Host header for an origin (the legacy app is the same one request after request)."""
    return Instance(scheme, host, port).authority


def set_host(request: http.Request, authority: str, *, http2: bool) -> None:
    """Exactly one Host toward the upstream (`single_host`), in one pass over the raw fields;
    for HTTP/2 and /3 `:authority` says the same, for mitmproxy's own view of the flow."""
    value = authority.encode("utf-8", "surrogateescape")
    request.data.headers.fields = single_host(request.data.headers.fields, value)
    if http2:
        request.data.authority = value
