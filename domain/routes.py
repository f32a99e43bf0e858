"""Routes and decisions: what a route is, what routing is told and what it decides (pure).

`domain.routing` compiles routes into a table and decides; the plan parser builds `Route`s and
the proxy reads `Decision`s. Both import the words from here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from domain.phases import (
    SAFE_METHODS,
    Phase,
)

LEGACY_FEATURE: Final = "legacy"
LEGACY_UPSTREAM: Final = "legacy"
ANY_METHOD: Final = "*"
# Not a parseable template: the default route is matched by falling off the trie, not by it.
CATCH_ALL_TEMPLATE: Final = "/**"
# Longer digit runs do not fit a 64-bit integer column, so they are not ids: let them fall
# through to a str parameter or to legacy, which answers its own 404.
MAX_INT_DIGITS: Final = 18


class Reason(StrEnum):
    """Why a request went where it went; the access log shows it."""

    ROUTE = "route"  # the route's phase chose the upstream
    COHORT = "cohort"  # a canary route: the cohort's bucket against the weight chose
    NO_COHORT = "no_cohort"  # a canary route, but the request carries no cohort value: legacy
    PINNED = "pinned"  # the session wrote to this feature through legacy moments ago
    FALLBACK = "fallback"  # the service failed a read, and legacy answered it instead
    FACE = "face"  # a modern face (/v2, /fhir, /control/v1): no legacy side (domain.faces)


class TrailingSlash(StrEnum):
    STRICT = "strict"  # `/x/` is not `/x`
    MATCH = "match"  # `/x/` matches the route of `/x`, and is forwarded as `/x`


# Cohort keys a plan may name. `session` needs no name: it is the legacy SESSID cookie.
COHORT_KINDS: Final = ("session", "header", "cookie", "path", "query")
# (kind, name): where a request's cohort value comes from, e.g. ("header", "X-Ward").
CohortKey = tuple[str, str]
SESSION_COHORT: Final[CohortKey] = ("session", "")
# Looks a cohort value up in the request: (kind, name) -> value, or None if it has none.
CohortLookup = Callable[[str, str], str | None]
# Reads a request's RPC call: (protocol, method name), or None if it is not one.
RpcLookup = Callable[[], tuple[str, str] | None]


class RpcClass(StrEnum):
    """What a plan says an RPC method does: reads may be moved, retried and copied; writes never."""

    READ = "read"
    WRITE = "write"


# RPC protocols a route may match (`domain.rpc.Protocol` values).
RPC_PROTOCOLS: Final = ("jsonrpc", "xmlrpc", "soap")
# A method pattern ending in this matches every name with the text before it as a prefix.
RPC_WILDCARD: Final = "*"


@dataclass(frozen=True, slots=True)
class RpcMatch:
    """A route's RPC match: calls of `method` (or of a `prefix.*` pattern) by `protocol`."""

    protocol: str
    method: str
    rpc_class: RpcClass = RpcClass.WRITE

    @property
    def label(self) -> str:
        """`jsonrpc:model.party.party.search_read`: the plan's name, never a request's text."""
        return f"{self.protocol}:{self.method}"


def is_read(method: str, rpc: RpcMatch | None) -> bool:
    """The one read/write rule: an RPC route's plan class, else the HTTP method (safe = read).

    Everything that treats reads and writes differently (canary writes, read fallback,
    read-your-writes pins, shadow copies, dry-run tokens) asks this, through `Decision.is_read`
    or `route_reads`, so a `POST` of a read RPC method is a read everywhere at once.
    """
    if rpc is not None:
        return rpc.rpc_class is RpcClass.READ
    return method in SAFE_METHODS


def route_name(template: str, rpc: RpcMatch | None) -> str:
    """`/{db}/ jsonrpc:model.party.party.search_read`: a route's template with its RPC method,
    as stats, logs and the control plane's route states name it."""
    return template if rpc is None else f"{template} {rpc.label}"


@dataclass(frozen=True, slots=True)
class Route:
    """One method + template of one feature. `source` says where it was declared, for errors."""

    feature: str
    method: str
    template: str
    upstream: str
    phase: Phase
    source: str = ""
    weight: int = 0  # the canary percentage, 0-100; only read in `canary`
    cohort: CohortKey = SESSION_COHORT
    canary_writes: bool = False
    trailing_slash: TrailingSlash = TrailingSlash.STRICT
    # Whether `;params` in the path are allowed on this route (the proxy's guard refuses them
    # with 400 otherwise); routing itself matches the canonical path either way.
    allow_path_params: bool = False
    # Matches only the calls of this RPC method at `template` (more specific than no match).
    rpc: RpcMatch | None = None

    @property
    def name(self) -> str:
        """The template as stats and logs show it: with the RPC method name, never its params."""
        return route_name(self.template, self.rpc)

    @property
    def reads(self) -> bool:
        """Whether this route's requests are reads (`is_read` with the route's own method)."""
        return is_read(self.method, self.rpc)

    def describe(self) -> str:
        where = f", {self.source}" if self.source else ""
        return f"{self.method} {self.name} ({self.feature}{where})"


LEGACY_DEFAULT_ROUTE: Final = Route(
    feature=LEGACY_FEATURE,
    method=ANY_METHOD,
    template=CATCH_ALL_TEMPLATE,
    upstream=LEGACY_UPSTREAM,
    phase=Phase.LEGACY,
    source="built-in default",
)


@dataclass(frozen=True, slots=True)
class RequestInfo:
    """What routing looks at. `path` must already be canonical (proxy.canonical_path).

    `pinned_features` are the features this request's session wrote to through legacy within
    their pin window (read-your-writes). `cohort` looks up the request's cohort value for a
    (kind, name) key; it is only called for routes in `canary`, so it may parse lazily. `rpc`
    reads the RPC call in the body, (protocol, method name) or None; it is only called when a
    route at the matched path has an `rpc` match, so plain requests never parse a body.
    """

    method: str
    path: str
    pinned_features: frozenset[str] = frozenset()
    cohort: CohortLookup | None = None
    rpc: RpcLookup | None = None


ParamValue = int | str
Params = tuple[tuple[str, ParamValue], ...]


@dataclass(frozen=True, slots=True)
class Decision:
    route: Route
    upstream: str
    params: Params = ()
    reason: Reason = Reason.ROUTE
    # The service that failed the read, when legacy answered it instead (Reason.FALLBACK).
    fallback_from: str | None = None
    # The path to forward when it is not the request's (a `match` trailing slash removed).
    forward_path: str | None = None
    # Whether this request is a read (`is_read`); the safe default is a write.
    is_read: bool = False

    @property
    def shadowed(self) -> bool:
        """Legacy serves, and a copy may go to the service (the proxy decides which)."""
        return self.route.phase is Phase.SHADOW

    @property
    def feature(self) -> str:
        return self.route.feature

    @property
    def phase(self) -> Phase:
        return self.route.phase

    @property
    def template(self) -> str:
        """The route's name for stats and logs (`Route.name`: with its RPC method, if any)."""
        return self.route.name

    @property
    def to_legacy(self) -> bool:
        return self.upstream == LEGACY_UPSTREAM


def serving_upstream(route: Route) -> str:
    """Which upstream serves a route's requests in its phase.

    `shadow` is served by legacy (a copy goes to the new service, see `proxy.shadow`);
    `canary` is split by cohort in `decide` (here: legacy, the side every cohort starts on);
    `retired` is served by the new service, which is all that is left.
    """
    if route.phase in (Phase.MIGRATED, Phase.RETIRED):
        return route.upstream
    return LEGACY_UPSTREAM


def reaches_service(route: Route) -> bool:
    """Whether some request of this route may be forwarded to its service."""
    return route.phase in (Phase.MIGRATED, Phase.RETIRED) or (
        route.phase is Phase.CANARY and route.weight > 0
    )
