"""Who owns each record's writes now: the one ownership rule, per feature and per key. Pure.

Ownership is per record (DESIGN.md §5). A feature's write routes say who takes the writes of
each record, through `domain.routing.service_owns_writes`: in `migrated` and `retired` the
service owns every record; in a `canary` whose plan lets writes join it (`canary_writes`), the
service owns the records whose cohort bucket is under the weight and legacy owns the rest;
otherwise legacy owns them all. A feature without write routes is decided by its reads (a
read-only feature is the service's once its reads moved). A rollback moves the routes back,
and with them the ownership.

The proxy routes writes with the same primitive, the control plane asks this module which
records a move takes away from the service (the data-aware rollback) and refuses moves after
which a feature's write routes would disagree about a record, the services refuse writes to
records they do not own, and sync treats each change by the owner of its record. Nobody else
decides ownership.

`changed_at_us` is when the last of the feature's routes changed. A write made by the
previous owner up to `SETTLE_SECONDS` after that was routed by a proxy that had not reloaded
its table yet (proxies reload within 1 s), so it still counts as an owner's write: `settled`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from domain.phases import SAFE_METHODS, Phase, service_owns_writes, write_share
from domain.plan_model import NonOwnerWrites, Plan
from domain.route_table import RouteState

# Proxies pick a route-table change up within 1 s; twice that covers a slow reload.
SETTLE_SECONDS: Final = 2.0


class Owner(StrEnum):
    LEGACY = "legacy"
    SERVICE = "service"


@dataclass(frozen=True, slots=True)
class RouteOwnership:
    """One route of a feature as ownership sees it: its method, phase and canary weight."""

    method: str
    template: str
    phase: Phase
    weight: int = 0
    # The route's class when its method does not say it (an RPC route: `PlanRoute.reads`).
    reads: bool | None = None

    @property
    def is_read(self) -> bool:
        return self.method.upper() in SAFE_METHODS if self.reads is None else self.reads

    def share(self, canary_writes: bool) -> int:
        """The percentage of records (by cohort bucket) whose writes this route gives the
        service: 0, the canary weight, or 100. Buckets are monotone in the weight, so a route
        with a smaller share gives the service a subset of the records of a larger one."""
        return write_share(phase=self.phase, weight=self.weight, canary_writes=canary_writes)

    def describe(self) -> str:
        weight = f" {self.weight}%" if self.phase is Phase.CANARY else ""
        return f"{self.method} {self.template} ({self.phase}{weight})"


@dataclass(frozen=True, slots=True)
class FeatureOwnership:
    """Who owns the writes of each record of one feature."""

    feature: str
    # The routes that decide: the feature's write routes, or all of them if it has none.
    routes: tuple[RouteOwnership, ...]
    canary_writes: bool = False
    non_owner_writes: NonOwnerWrites = NonOwnerWrites.NEWER_WINS
    changed_at_us: int = 0

    @property
    def reads_only(self) -> bool:
        """A feature without write routes (its reads decide, and nobody writes its records)."""
        return all(route.is_read for route in self.routes)

    def service_owns(self, key: int | str) -> bool:
        return any(
            service_owns_writes(
                self.feature,
                str(key),
                phase=route.phase,
                weight=route.weight,
                canary_writes=self.canary_writes,
            )
            for route in self.routes
        )

    def owner_of(self, key: int | str) -> Owner:
        return Owner.SERVICE if self.service_owns(key) else Owner.LEGACY

    @property
    def service_share(self) -> int:
        """The percentage of records the service owns (0: legacy owns all, 100: the service)."""
        return max((route.share(self.canary_writes) for route in self.routes), default=0)

    def describe(self) -> str:
        """`legacy`, `service`, or `split N%` (a canary with writes), for status lines."""
        share = self.service_share
        if share <= 0:
            return Owner.LEGACY.value
        if share >= 100:
            return Owner.SERVICE.value
        return f"split {share}%"

    def settled(self, at_us: int) -> bool:
        """Whether a write made at `at_us` was routed by a table that shows this ownership."""
        return at_us >= self.changed_at_us + int(SETTLE_SECONDS * 1_000_000)

    def disagreement(self) -> str | None:
        """Why the write routes would give one record two writers, or None if they agree."""
        shares = {route.share(self.canary_writes) for route in self.routes}
        if len(shares) <= 1 or self.reads_only:
            return None
        listed = ", ".join(route.describe() for route in self.routes)
        return (
            f"the write routes of {self.feature} would disagree about who owns a record "
            f"({listed}): move the feature's write routes together"
        )


def takes_records_from_service(before: FeatureOwnership, after: FeatureOwnership) -> bool:
    """Whether moving from `before` to `after` hands some records back to legacy: then the
    service's writes of them must have reached legacy first (the data-aware rollback)."""
    return after.service_share < before.service_share


def deciding_routes(
    routes: Iterable[tuple[str, str, Phase, int]],
) -> tuple[RouteOwnership, ...]:
    """(method, template, phase, weight) of every route → the ones that decide ownership."""
    return _deciding(tuple(RouteOwnership(m, t, p, w) for m, t, p, w in routes))


def _deciding(every: tuple[RouteOwnership, ...]) -> tuple[RouteOwnership, ...]:
    writes = tuple(route for route in every if not route.is_read)
    return writes or every


def feature_ownership(
    plan: Plan,
    states: Mapping[tuple[str, str], RouteState] | None = None,
    *,
    changed_at_us: int = 0,
) -> FeatureOwnership:
    """The plan's feature with the control plane's route states (a route without a state row
    has its plan-file phase, as the proxy sees it)."""
    found = states or {}
    routes = []
    for route in plan.routes:
        state = found.get((route.method, route.template))
        phase = state.phase if state is not None else route.phase
        weight = state.weight if state is not None and phase is Phase.CANARY else 0
        routes.append(RouteOwnership(route.method, route.template, phase, weight, route.reads))
    return FeatureOwnership(
        feature=plan.feature,
        routes=_deciding(tuple(routes)),
        canary_writes=plan.canary_writes,
        non_owner_writes=plan.sync.non_owner_writes,
        changed_at_us=changed_at_us,
    )
