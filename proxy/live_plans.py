"""The route table and everything else compiled from the plans, swapped whole on a change.

Routing state comes from two places: the plan files (routes and their initial phases) and the
control plane's route states (phase, canary weight). A change of either recompiles with the
other, in the thread that noticed it (the configure hook, the control-plane poller), and the
result is swapped in by plain assignments: a request sees the old table or the new one.

A third, optional input is the control plane's own address (`ficus_control_url`): with it the
table gets the built-in `/control/v1` face (`domain.faces.control_route`) and a pool for it,
(and `/oauth2`, its token endpoint), so operators, auditors and machine clients reach the
control plane through the proxy like every other face.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from domain.faces import CONTROL_UPSTREAM, control_routes
from domain.legacy_session import LegacySessionSettings
from domain.phases import Phase
from domain.plan_legacy_session import legacy_session_settings
from domain.plans import Plan, ShadowSettings, load_plans
from domain.route_table import (
    RouteStates,
    build_route_table,
    pin_windows,
    shadow_settings,
    upstream_health,
    upstream_instances,
)
from domain.routes import reaches_service
from domain.routing import RouteTable
from proxy.evidence_compare import FeatureCompare, feature_compares
from proxy.upstreams import UpstreamPool, build_pools


class LivePlans:
    def __init__(self) -> None:
        self.table = RouteTable.build(())
        self.pools: dict[str, UpstreamPool] = {}
        self.pin_seconds: dict[str, float] = {}
        self.shadow_settings: dict[str, ShadowSettings] = {}
        # Per feature, how the evidence recorder compares shadowed answers.
        self.compare_settings: dict[str, FeatureCompare] = {}
        # How the legacy app keeps its sessions (the plans' `legacy_session:`).
        self.legacy_session = LegacySessionSettings()
        # The two inputs of the table, kept so that a change of either recompiles with the
        # other. The lock orders the two writers; readers just read the attributes.
        self._plans: tuple[Plan, ...] = ()
        self._states: RouteStates | None = None
        self._control: tuple[str, ...] = ()  # the control plane's instance URLs, if known
        self._lock = threading.Lock()

    def set_control(self, urls: tuple[str, ...]) -> None:
        """The control plane's address (empty: no `/control/v1` face); ValueError if bad."""
        with self._lock:
            self._compile(self._plans, urls)

    def load(self, directory: Path) -> None:
        """Read the plan files; ValueError (with the location) if one is bad."""
        with self._lock:
            self._compile(load_plans(directory, environ=os.environ), self._control)

    def _compile(self, plans: tuple[Plan, ...], control: tuple[str, ...]) -> None:
        extra = control_routes() if control else ()
        table = build_route_table(plans, self._states, extra)
        instances = dict(upstream_instances(plans))
        if control:
            instances[CONTROL_UPSTREAM] = control
        pools = build_pools(instances, upstream_health(plans))
        # Swap at once: a request sees the old table with the old pools or the new with new.
        self._plans, self._control = plans, control
        self.shadow_settings = shadow_settings(plans)
        self.compare_settings = feature_compares(plans)
        self.legacy_session = legacy_session_settings(plans)
        self.table, self.pools, self.pin_seconds = table, pools, pin_windows(plans)

    def apply_states(self, states: RouteStates) -> None:
        """A new generation of route states (control-plane thread): compile, then swap."""
        with self._lock:
            # ValueError: the poller logs it.
            extra = control_routes() if self._control else ()
            table = build_route_table(self._plans, states, extra)
            self._states = states
            self.table = table

    def needs_identity_key(self) -> bool:
        """Whether some route is served (or shadowed) by an extracted service."""
        return any(reaches_service(r) or r.phase is Phase.SHADOW for r in self.table.routes)
