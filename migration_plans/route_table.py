"""Glue from parsed plans to the routing core: routes, the compiled table, upstream instances,
and each feature's read-your-writes pin window.

Kept apart from `plans.py` so the parser stays about files and errors, and from the proxy so
that `plan check`, the proxy and (next) the route exporters build the table the same way.
"""

from __future__ import annotations

from collections.abc import Iterable

from migration_plans.plans import Plan
from proxy.routing import Route, RouteTable


def routes_from_plans(plans: Iterable[Plan]) -> list[Route]:
    return [
        Route(
            feature=plan.feature,
            method=route.method,
            template=route.path,
            upstream=plan.upstream.name,
            phase=route.phase,
            source=plan.where(route.line),
        )
        for plan in plans
        for route in plan.routes
    ]


def build_route_table(plans: Iterable[Plan]) -> RouteTable:
    """The compiled table; raises ValueError if routes overlap (plan checks catch it first)."""
    return RouteTable.build(routes_from_plans(plans))


def upstream_instances(plans: Iterable[Plan]) -> dict[str, tuple[str, ...]]:
    """Instance URLs by upstream name, after environment overrides."""
    return {plan.upstream.name: plan.upstream.instances for plan in plans}


def pin_windows(plans: Iterable[Plan]) -> dict[str, float]:
    """Seconds a session's reads of each feature stay on legacy after it wrote there (0: off)."""
    return {plan.feature: plan.pin_reads_after_write_seconds for plan in plans}
