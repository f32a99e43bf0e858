"""Who owns a feature's writes right now, from the phases of its routes (contract C2).

The service owns them (reverse sync) once any *write* route of the feature is `migrated` or
`retired`: from then on the service takes those writes and legacy must be told. Otherwise
legacy owns them (forward sync). A rollback moves the routes back, and with them the direction.
Phases come from `migration_plans.models.RouteState` (the control plane); a route with no row
there has its plan file's phase, as the proxy sees it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from django.conf import settings

FORWARD = "forward"
REVERSE = "reverse"
SERVICE_PHASES = frozenset({"migrated", "retired"})
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def direction_for(phases: Iterable[tuple[str, str]]) -> str:
    """`phases`: (method, phase) of every route of the feature."""
    routes = list(phases)
    writes = [phase for method, phase in routes if method.upper() not in READ_METHODS]
    relevant = writes or [phase for _method, phase in routes]
    return REVERSE if any(phase in SERVICE_PHASES for phase in relevant) else FORWARD


def route_phases(feature: str) -> list[tuple[str, str]]:
    """(method, phase) of each route of `feature`: the control plane's, else the plan's."""
    from migration_plans.models import RouteState
    from migration_plans.plans import load_plans

    stored = {
        (row.method, row.template): row.phase
        for row in RouteState.objects.filter(feature=feature).only("method", "template", "phase")
    }
    plans = load_plans(settings.FICUS_PLANS_DIR, environ=os.environ)
    phases = []
    for plan in plans:
        if plan.feature != feature:
            continue
        for route in plan.routes:
            phase = stored.pop((route.method, route.path), str(route.phase))
            phases.append((route.method, phase))
    phases += [(method, phase) for (method, _template), phase in stored.items()]
    return phases


def current_direction(feature: str) -> str:
    return direction_for(route_phases(feature))
