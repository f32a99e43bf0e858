"""Glue from parsed plans (and the control plane's route states) to the routing core.

Plans say what routes exist and how each behaves (upstream, cohort key, trailing-slash policy,
`;` parameters, whether writes join a canary); the control plane says where each route is in its
migration now (phase, canary weight). `build_route_table(plans, states)` merges the two: a route
with a state row takes that row's phase and weight, a route without one keeps the plan file's
initial phase (weight 0). State rows for routes no plan declares any more are ignored: a route
exists only while a reviewed plan declares it.

Kept apart from `plans.py` so the parser stays about files and errors, and from the proxy so
that `plan check`, the proxy and the route exporters build the table the same way. Pure: the
proxy's control-plane reader (`proxy.control_plane`) does the SQL and hands rows in here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from domain.faces import face_route
from domain.phases import Phase
from domain.plan_model import HealthCheck
from domain.plans import Plan, ShadowSettings
from domain.routes import Route
from domain.routing import RouteTable


@dataclass(frozen=True, slots=True)
class RouteState:
    """One `ficus_route_state` row, as far as routing cares."""

    phase: Phase
    weight: int = 0  # canary percentage 0-100; ignored outside `canary`


# Keyed by (method, template), the table's unique key.
RouteStates = Mapping[tuple[str, str], RouteState]


def routes_from_plans(plans: Iterable[Plan], states: RouteStates | None = None) -> list[Route]:
    routes: list[Route] = []
    for plan in plans:
        cohort = (str(plan.cohort.kind), plan.cohort.name or "")
        for route in plan.routes:
            state = (states or {}).get((route.method, route.template))
            phase = state.phase if state is not None else route.phase
            weight = state.weight if state is not None and phase is Phase.CANARY else 0
            routes.append(
                Route(
                    feature=plan.feature,
                    method=route.method,
                    template=route.path,
                    upstream=plan.upstream.name,
                    phase=phase,
                    source=plan.where(route.line),
                    weight=max(0, min(100, weight)),
                    cohort=cohort,
                    canary_writes=plan.canary_writes,
                    trailing_slash=plan.trailing_slash,
                    allow_path_params=plan.allow_path_params,
                    rpc=route.rpc,
                )
            )
        routes.extend(
            face_route(plan.feature, face, plan.upstream.name, plan.where(plan.line_of("faces")))
            for face in plan.faces
        )
    return routes


def build_route_table(
    plans: Iterable[Plan], states: RouteStates | None = None, extra: Iterable[Route] = ()
) -> RouteTable:
    """The compiled table; raises ValueError if routes overlap (plan checks catch it first).

    `extra` are routes no plan declares: the proxy's built-in control face (domain.faces)."""
    return RouteTable.build([*routes_from_plans(plans, states), *extra])


def upstream_instances(plans: Iterable[Plan]) -> dict[str, tuple[str, ...]]:
    """Instance URLs by upstream name, after environment overrides."""
    return {plan.upstream.name: plan.upstream.instances for plan in plans}


def upstream_health(plans: Iterable[Plan]) -> dict[str, HealthCheck]:
    """Each upstream's active health-check settings (path, interval, timeout, thresholds)."""
    return {plan.upstream.name: plan.upstream.health for plan in plans}


def pin_windows(plans: Iterable[Plan]) -> dict[str, float]:
    """Seconds a session's reads of each feature stay on legacy after it wrote there (0: off)."""
    return {plan.feature: plan.pin_reads_after_write_seconds for plan in plans}


def shadow_settings(plans: Iterable[Plan]) -> dict[str, ShadowSettings]:
    """Each feature's shadow settings (sample, timeout, in-flight bound, writes or not)."""
    return {plan.feature: plan.shadow for plan in plans}
