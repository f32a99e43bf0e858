"""Per-route read timeouts, for any route: one a service serves, or one legacy still serves.

trytond's long poll `POST /{db}/bus` answers after 40 to 300 s, far beyond a proxy's global read
timeout (30 s): it got a 504 (Ficus issue 15). Such a route is legacy's and belongs to no plan,
and an operator must be able to give it its own timeout without migrating anything. So the
limits live in their own file (`runproxy --route-limits FILE`), one entry per route, matched by
the same rules as plan routes (`domain.routing.RouteTable`: method plus template, the most
specific template wins, HEAD follows GET); a request no entry matches keeps the global
`--read-timeout`:

    routes:
      - route: POST /{db}/bus
        read_timeout_seconds: 300

Errors are located like a plan's (`file:line: field: message`, all of them). Pure: PyYAML
through `domain.plan_yaml`, and the routing core.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from yaml.nodes import Node

from domain.phases import Phase
from domain.plan_yaml import NodeReader, PlanError, compose
from domain.route_templates import TemplateError, parse_template
from domain.routes import LEGACY_UPSTREAM, Route
from domain.routing import RouteTable

# A long poll's hour is generous; beyond it a "request" is a connection kept for ever.
MAX_READ_TIMEOUT_SECONDS: Final = 3600.0
_FEATURE: Final = "route-limits"
_ENTRY_FIELDS: Final = ("route", "read_timeout_seconds")


@dataclass(frozen=True, slots=True)
class RouteLimit:
    method: str
    template: str
    read_timeout_seconds: float
    line: int


class RouteLimits:
    """The limits by route; `read_timeout(method, path)` for a canonical path."""

    def __init__(self, limits: tuple[RouteLimit, ...] = ()) -> None:
        self.limits = limits
        routes = [
            Route(_FEATURE, x.method, x.template, LEGACY_UPSTREAM, Phase.LEGACY, f"line {x.line}")
            for x in limits
        ]
        self._by_route = {(x.method, x.template): x for x in limits}
        self._table = RouteTable.build(routes)

    def __bool__(self) -> bool:
        return bool(self.limits)

    def read_timeout(self, method: str, path: str) -> float | None:
        """The route's own read timeout, or None: the global one applies."""
        route, _params = self._table.match(method, path)
        limit = self._by_route.get((route.method, route.template))
        return None if limit is None or route.feature != _FEATURE else limit.read_timeout_seconds


def read_route_limits(text: str, file: str) -> RouteLimits:
    """The limits a file declares; ValueError listing every located problem."""
    root, errors = compose(text, file)
    reader = NodeReader(file)
    limits: list[RouteLimit] = []
    if root is not None:
        top = reader.mapping(root, "", ("routes",), frozenset({"routes"}))
        items = reader.items(top["routes"], "routes") if top and "routes" in top else None
        for index, node in enumerate(items or []):
            limit = _entry(reader, node, f"routes[{index}]")
            if limit is not None:
                limits.append(limit)
    errors += reader.errors
    if not errors:
        try:
            return RouteLimits(tuple(limits))
        except (TemplateError, ValueError) as e:
            errors.append(PlanError(file, 1, "routes", str(e)))
    raise ValueError("\n".join(str(e) for e in errors))


def _entry(reader: NodeReader, node: Node, prefix: str) -> RouteLimit | None:
    fields = reader.mapping(node, prefix, _ENTRY_FIELDS, frozenset(_ENTRY_FIELDS))
    if fields is None or len(fields) < len(_ENTRY_FIELDS):
        return None
    route = reader.string(fields["route"], f"{prefix}.route")
    seconds = reader.number(
        fields["read_timeout_seconds"],
        f"{prefix}.read_timeout_seconds",
        minimum=0,
        maximum=MAX_READ_TIMEOUT_SECONDS,
        above_minimum=True,
        unit="seconds",
    )
    if route is None or seconds is None:
        return None
    method, _, template = route.partition(" ")
    template = template.strip()
    problem = None
    if not method.isalpha() or not method.isupper():
        problem = f"{route!r} is not 'METHOD /template'"
    else:
        try:
            parse_template(template)
        except TemplateError as e:
            problem = str(e)
    if problem is not None:
        reader.fail(fields["route"], f"{prefix}.route", problem)
        return None
    return RouteLimit(method, template, seconds, reader.lines[f"{prefix}.route"])
