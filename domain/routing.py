"""The routing core: which route a request belongs to, and which upstream serves it.

`decide(request, table) -> Decision` is pure (standard library only; an import-linter contract
keeps mitmproxy, Django, httpx and SQLAlchemy out), so the proxy, the plan checker and the future
route exporters (nginx, envoy) all share one definition of "which route is this".

Templates (`domain.route_templates`) are `/api/appointments/{id:int}`: each segment is a literal
or one whole parameter of type `int` (ASCII digits) or `str` (any one non-empty segment). Routes
and decisions are `domain.routes`; the phases and the canary's cohort buckets `domain.phases`.
The most specific template wins, segment by segment from the left: a literal beats `int`, which
beats `str`. Two templates with the same shape (same literals, same parameter types in the same
places) would match the same requests with nothing to choose between them, so building a table
with both is an error. HEAD follows GET unless a route declares HEAD itself.

The table compiles to one segment trie per method, so a lookup costs a dict probe per segment
(plus bounded backtracking from literal to int to str), not a scan over every route: the
design target is <= 10 us per decision with 10,000 routes.

RPC endpoints (`Route.rpc`): routes of one method and path shape may each match one RPC method
(`jsonrpc`, `xmlrpc`, `soap`; a name, or a `prefix.*` pattern, the longest prefix winning). An
RPC route is more specific than the path's own route: the call (`RequestInfo.rpc`, read from the
body by `domain.rpc` only when the matched path has RPC routes) picks one, and a call that
matches none, or a body that is no call, goes where the path alone goes (the path's own route,
or the legacy default if there is none). The route's `name` carries the RPC method name.

Unmatched requests go to the legacy default route, which is itself a `Route` (feature `legacy`)
so that it shows up in inventories and access logs like any other (and in route stats, where
unknown routes are counted). Before the default, the modern faces (`domain.faces`: `/v2/...`,
`/fhir/...`, `/control/v1/...` prefixes, any method) are tried: they always go to their
service, with `Reason.FACE`.

Method rules: HEAD follows GET unless a route declares HEAD; OPTIONS follows its route (a
declared OPTIONS route first, else the path's GET route, else the first other method's route
with that shape) and goes wherever a request of that route's method would go.

Trailing slash, per route (`Route.trailing_slash`): `strict` (the default) means `/x/` is a
different path from `/x` and falls through to legacy unless a template says `/x/`; `match` means
`/x/` matches the route of `/x` and is forwarded as `/x` (`Decision.forward_path`). An exact
match always wins over the slash-stripped one.

Canary by cohort (`canary` phase, `Route.weight` = w%): the request's cohort value (the plan's
cohort key: session, a header, a cookie, a path or query parameter) is hashed with the feature
name by BLAKE2b into one of 10,000 buckets, and the cohort is on the service side iff its bucket
is below w * 100. The hash is stable (not Python's salted `hash()`), so a cohort lands on the
same side in every worker and after every restart; and since a cohort's bucket never changes,
raising w only moves cohorts from legacy to the service, never back. Hashing the feature rather
than the route keeps one person or chart on one side for all routes of a feature. A request with
no cohort value (no session yet, no header) goes to legacy below 100%: it cannot be kept on one
side, and legacy is the side that still has everything. Writes join the canary only if the
route's plan says `canary_writes` (allowed only when the cohort key is the data owner's key, so
each record has one writer); otherwise writes in `canary` go to legacy. Cohort values are
looked up lazily through `RequestInfo.cohort` (a callable the proxy fills from the flow), so
requests on routes that are not in canary pay nothing for it.

While the legacy app still owns a feature's data (it takes the writes, and forward sync copies
them to the service a moment later), the legacy app is also the safest reader of it. Two rules
use that, and both are decided here so that they are the same wherever routing is decided:

- *read-your-writes pinning*: a session that has just written to a feature through legacy has
  its reads of that feature sent to legacy too for a few seconds (`RequestInfo.pinned_features`
  in, `Reason.PINNED` out; the proxy remembers the pins, see `proxy.pins`);
- *read fallback*: a read that a service answered 404 or 5xx may be asked of legacy once
  (`should_fall_back`, `fall_back`; the proxy re-sends it, see `proxy.fallback`).

Both apply only to reads (`Decision.is_read`: a safe method, or an RPC method its plan classes
as `read`; see `domain.routes.is_read`) of routes in `canary` or `migrated`: a write is never
moved to another system (RFC 9110 9.2.2, and one writer per record), and a `retired` route has
no legacy side left to ask.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from urllib.parse import unquote

from domain.faces import FaceIndex, is_face
from domain.phases import (
    LEGACY_READABLE_PHASES,
    Phase,
    cohort_bucket,
    in_canary,
    service_owns_writes,
)
from domain.route_templates import (
    Param,
    ParamType,
    ShapeKey,
    Template,
    TemplateError,
    parse_template,
)
from domain.routes import (
    ANY_METHOD,
    LEGACY_DEFAULT_ROUTE,
    LEGACY_FEATURE,
    LEGACY_UPSTREAM,
    MAX_INT_DIGITS,
    Decision,
    Params,
    Reason,
    RequestInfo,
    Route,
    RpcLookup,
    TrailingSlash,
    is_read,
    serving_upstream,
)
from domain.rpc_index import RpcIndex

_METHOD_RE = re.compile(r"[A-Z]+")


@dataclass(frozen=True, slots=True)
class _Leaf:
    route: Route
    params: tuple[tuple[int, Param], ...]  # (segment index in the split path, parameter)
    # The RPC routes of this method and shape, if any: tried before `route` (see `_RpcIndex`).
    rpc: RpcIndex[_Leaf] | None = None


class _Node:
    __slots__ = ("int_child", "leaf", "literals", "str_child")

    def __init__(self) -> None:
        self.literals: dict[str, _Node] = {}
        self.int_child: _Node | None = None
        self.str_child: _Node | None = None
        self.leaf: _Leaf | None = None

    def insert(self, template: Template, leaf: _Leaf) -> None:
        node = self
        for segment in template.segments:
            if isinstance(segment, str):
                node = node.literals.setdefault(segment, _Node())
            elif segment.type is ParamType.INT:
                node.int_child = node = node.int_child or _Node()
            else:
                node.str_child = node = node.str_child or _Node()
        node.leaf = leaf


def _is_int(segment: str) -> bool:
    # str.isdigit() alone accepts other scripts' digits ('٣', '²'); ids are ASCII.
    return segment.isascii() and segment.isdigit() and len(segment) <= MAX_INT_DIGITS


def _find(node: _Node, segments: list[str], index: int) -> _Leaf | None:
    if index == len(segments):
        return node.leaf
    segment = segments[index]
    child = node.literals.get(segment)
    if child is not None and (leaf := _find(child, segments, index + 1)) is not None:
        return leaf
    child = node.int_child
    if (
        child is not None
        and _is_int(segment)
        and (leaf := _find(child, segments, index + 1)) is not None
    ):
        return leaf
    child = node.str_child
    if child is not None and segment:
        return _find(child, segments, index + 1)
    return None


class RouteTable:
    """Compiled routes. Build with `RouteTable.build(routes)`; immutable once built."""

    __slots__ = ("_faces", "_roots", "default", "routes")

    def __init__(
        self,
        roots: dict[str, _Node],
        routes: tuple[Route, ...],
        default: Route,
        faces: FaceIndex | None = None,
    ):
        self._roots = roots
        self._faces = faces or FaceIndex(())
        self.routes = routes  # every declared route, then the default: the inventory
        self.default = default

    @classmethod
    def build(cls, routes: Iterable[Route], *, default: Route = LEGACY_DEFAULT_ROUTE) -> RouteTable:
        declared = tuple(routes)
        # Faces (domain.faces) match by prefix for every method; the rest go in the tries.
        faces = FaceIndex(r for r in declared if is_face(r))
        by_method: dict[str, dict[ShapeKey, tuple[Route, Template]]] = {}
        rpc_routes: dict[str, dict[ShapeKey, list[tuple[Route, Template]]]] = {}
        for route in declared:
            if is_face(route):
                continue
            if route.method == ANY_METHOD or not _METHOD_RE.fullmatch(route.method):
                raise ValueError(f"{route.describe()}: {route.method!r} is not an HTTP method")
            try:
                template = parse_template(route.template)
            except TemplateError as e:
                raise TemplateError(f"{route.describe()}: {e}") from e
            if route.rpc is not None:
                by_shape = rpc_routes.setdefault(route.method, {})
                by_shape.setdefault(template.key, []).append((route, template))
                continue
            shapes = by_method.setdefault(route.method, {})
            if (other := shapes.get(template.key)) is not None:
                raise ValueError(
                    f"{route.describe()} overlaps {other[0].describe()}: "
                    "both match exactly the same requests"
                )
            shapes[template.key] = (route, template)
        # HEAD follows GET: a GET route answers HEAD too, unless a HEAD route has that shape.
        if "GET" in by_method:
            by_method["HEAD"] = {**by_method["GET"], **by_method.get("HEAD", {})}
        # OPTIONS follows its route: a declared OPTIONS route, else GET's, else the first other.
        follow: dict[ShapeKey, tuple[Route, Template]] = {}
        for method in ("OPTIONS", "GET", *by_method):
            for key, entry in by_method.get(method, {}).items():
                follow.setdefault(key, entry)
        if follow:
            by_method["OPTIONS"] = follow
        roots: dict[str, _Node] = {}
        for method in {*by_method, *rpc_routes}:
            root = roots[method] = _Node()
            shapes = by_method.get(method, {})
            with_rpc = rpc_routes.get(method, {})
            for key in {*shapes, *with_rpc}:
                index: RpcIndex[_Leaf] | None = None
                if key in with_rpc:
                    index = RpcIndex()
                    for route, template in with_rpc[key]:
                        assert route.rpc is not None
                        index.add(route.rpc, route.describe(), _Leaf(route, _params(template)))
                # An RPC-only path: calls that match no RPC route go where unmatched paths go.
                route, template = shapes.get(key) or (default, with_rpc[key][0][1])
                root.insert(template, _Leaf(route, _params(template), index))
        return cls(roots, (*declared, default), default, faces)

    def match(self, method: str, path: str) -> tuple[Route, Params]:
        """The route for a canonical path, with its typed parameters; the default if none."""
        route, params, _ = self.lookup(method, path)
        return route, params

    def lookup(
        self, method: str, path: str, rpc: RpcLookup | None = None
    ) -> tuple[Route, Params, str | None]:
        """`match`, plus the path to forward when a `match` trailing slash was dropped. With
        `rpc`, a path that has RPC routes asks it for the call and takes the matching one."""
        root = self._roots.get(method)
        if root is None:
            return self._face_or_default(path), (), None
        segments = path.split("/")  # segments[0] is the "" before the leading slash
        forward: str | None = None
        leaf = _find(root, segments, 1)
        if leaf is None:
            # `/x/` may match the route of `/x`, if that route's policy says so.
            if len(segments) < 3 or segments[-1] != "":
                return self._face_or_default(path), (), None
            segments.pop()
            leaf = _find(root, segments, 1)
            if leaf is None or leaf.route.trailing_slash is not TrailingSlash.MATCH:
                return self._face_or_default(path), (), None
            forward = path[:-1]
        if leaf.rpc is not None and rpc is not None and (call := rpc()) is not None:
            leaf = leaf.rpc.find(*call) or leaf
        return (
            leaf.route,
            tuple(
                (p.name, int(segments[i]) if p.type is ParamType.INT else unquote(segments[i]))
                for i, p in leaf.params
            ),
            forward,
        )

    def _face_or_default(self, path: str) -> Route:
        if self._faces:
            face = self._faces.match(path)
            if face is not None:
                return face
        return self.default


def _params(template: Template) -> tuple[tuple[int, Param], ...]:
    return tuple(
        (index + 1, s) for index, s in enumerate(template.segments) if isinstance(s, Param)
    )


def _legacy_may_read(route: Route, read: bool) -> bool:
    """Whether legacy may answer this read of a service-served route in the service's place."""
    return read and route.phase in LEGACY_READABLE_PHASES


def decide(request: RequestInfo, table: RouteTable) -> Decision:
    route, params, forward = table.lookup(request.method, request.path, request.rpc)
    read = is_read(request.method, route.rpc)
    if is_face(route):
        # No legacy counterpart: no canary split, no pin, and (Reason.FACE) no fallback.
        return Decision(route=route, upstream=route.upstream, reason=Reason.FACE, is_read=read)
    reason = Reason.ROUTE
    if route.phase is Phase.CANARY:
        upstream, reason = _canary_side(route, request, params)
    else:
        upstream = serving_upstream(route)
    if (
        upstream != LEGACY_UPSTREAM
        and route.feature in request.pinned_features
        and _legacy_may_read(route, read)
    ):
        reason = Reason.PINNED
        upstream = LEGACY_UPSTREAM
    return Decision(
        route=route,
        upstream=upstream,
        params=params,
        reason=reason,
        forward_path=forward,
        is_read=read,
    )


def _canary_side(route: Route, request: RequestInfo, params: Params) -> tuple[str, Reason]:
    """Which side of a canary serves this request, and why.

    The write check uses the route's class (`Route.reads`), not the request's method: an
    OPTIONS that follows a write route goes where that route's writes go, and a read RPC
    method's POST is a read. A `path` cohort is the matched template's parameter of that
    name; every other kind is looked up in the request.
    """
    writes = not route.reads
    if route.weight <= 0 or (writes and not route.canary_writes):
        return LEGACY_UPSTREAM, Reason.ROUTE
    if route.weight >= 100:
        return route.upstream, Reason.COHORT  # every cohort, so no value is needed
    kind, name = route.cohort
    value: str | None
    if kind == "path":
        value = next((str(v) for n, v in params if n == name), None)
    else:
        value = request.cohort(kind, name) if request.cohort is not None else None
    if not value:
        return LEGACY_UPSTREAM, Reason.NO_COHORT
    if writes:
        # The record's owner takes its writes: the same rule sync and the services apply.
        owned = service_owns_writes(
            route.feature, value, phase=route.phase, weight=route.weight, canary_writes=True
        )
    else:
        owned = in_canary(cohort_bucket(route.feature, value), route.weight)
    return (route.upstream if owned else LEGACY_UPSTREAM), Reason.COHORT


def pinned_feature(decision: Decision) -> str | None:
    """The feature whose reads this request pins to legacy if legacy accepts it (< 400).

    A write (`Decision.is_read` false) that legacy serves on a route a plan declares: the feature's
    service will not see that change until forward sync copies it, so the writer's next reads
    must come from legacy. Writes that fall through to the legacy default route belong to no
    feature and pin nothing.
    """
    if decision.is_read or not decision.to_legacy or decision.feature == LEGACY_FEATURE:
        return None
    return decision.feature


def should_fall_back(decision: Decision, status: int) -> bool:
    """Whether a service's answer to this request should be replaced by legacy's (at most once).

    Only a read decided to a service by its route or cohort (not pinned, not already a fallback)
    in a phase where legacy still holds the data, and only when the service answered 404 (its
    copy may lag behind legacy) or any 5xx (it failed).
    """
    return (
        decision.reason in (Reason.ROUTE, Reason.COHORT)
        and not decision.to_legacy
        and _legacy_may_read(decision.route, decision.is_read)
        and (status == 404 or status >= 500)
    )


def fall_back(decision: Decision) -> Decision:
    """The decision once legacy has been asked in the service's place."""
    return replace(
        decision,
        upstream=LEGACY_UPSTREAM,
        reason=Reason.FALLBACK,
        fallback_from=decision.upstream,
    )
