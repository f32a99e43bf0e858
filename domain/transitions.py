"""Which phase changes are allowed, and what weight a route has afterwards. Pure.

A route moves forward one step at a time, or back to any earlier phase (DESIGN.md §2). A write
route whose plan does not allow writes in a canary (`canary_writes: false`) has no canary step:
it waits in `shadow` while the feature's reads are in a canary and goes from `shadow` straight to
`migrated`, so one record never has two writers.

The weight is the canary percentage: 1-99 in `canary`, 0 in every other phase (a migrated route
sends every cohort to the service because of its phase, not because of a weight of 100). Raising
the weight is an advance (gates re-evaluated); lowering it is a rollback.

Errors are `TransitionError` with a message an operator can act on; the edges print it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from domain.phases import SAFE_METHODS, Phase

# A route where it stands: (phase, method), or (phase, method, reads) when its class is not its
# method's (an RPC route, `PlanRoute.reads`).
RouteAt = tuple[Phase, str] | tuple[Phase, str, bool]

ORDER: Final = (Phase.LEGACY, Phase.SHADOW, Phase.CANARY, Phase.MIGRATED, Phase.RETIRED)
MIN_WEIGHT: Final = 1
MAX_WEIGHT: Final = 99


class TransitionError(ValueError):
    """A phase change that the rules forbid; the message says which rule and what to do."""


@dataclass(frozen=True, slots=True)
class Step:
    """One route's change: where it is, where it goes, with which weight."""

    from_phase: Phase
    to_phase: Phase
    from_weight: int
    to_weight: int

    @property
    def changes(self) -> bool:
        return (self.from_phase, self.from_weight) != (self.to_phase, self.to_weight)


def parse_phase(value: str) -> Phase:
    try:
        return Phase(value)
    except ValueError:
        names = ", ".join(p.value for p in ORDER)
        raise TransitionError(f"{value!r} is not a phase (use {names})") from None


def index(phase: Phase) -> int:
    return ORDER.index(phase)


def path_of(*, method: str, canary_writes: bool, reads: bool | None = None) -> tuple[Phase, ...]:
    """The phases this route goes through; write routes skip canary unless the plan allows it.

    `reads` is the route's class when the method alone does not say it (an RPC route's plan
    class, `PlanRoute.reads`); by default a safe method reads."""
    if (method.upper() in SAFE_METHODS if reads is None else reads) or canary_writes:
        return ORDER
    return tuple(p for p in ORDER if p is not Phase.CANARY)


def effective_target(
    target: Phase, *, method: str, canary_writes: bool, reads: bool | None = None
) -> Phase:
    """Where a feature-wide move to target takes this route (writes wait in shadow)."""
    if target in path_of(method=method, canary_writes=canary_writes, reads=reads):
        return target
    return Phase.SHADOW


def check_weight(weight: int) -> int:
    if not MIN_WEIGHT <= weight <= MAX_WEIGHT:
        raise TransitionError(
            f"weight {weight} is out of range: a canary weight is {MIN_WEIGHT} to {MAX_WEIGHT} "
            "percent of cohorts (advance to migrated to send them all)"
        )
    return weight


def advance_step(
    current: Phase,
    current_weight: int,
    target: Phase,
    weight: int | None,
    *,
    method: str,
    canary_writes: bool,
    reads: bool | None = None,
) -> Step:
    """A forward move: one step along the route's path, or a higher weight within canary."""
    path = path_of(method=method, canary_writes=canary_writes, reads=reads)
    if current not in path:  # e.g. a write left in canary by a plan that later disallowed it
        path = ORDER
    if target == current:
        if target is not Phase.CANARY:
            return Step(current, current, current_weight, current_weight)
        if weight is None:
            return Step(current, current, current_weight, current_weight)
        check_weight(weight)
        if weight <= current_weight:
            raise TransitionError(
                f"advance only raises a canary weight ({current_weight} -> {weight} lowers "
                "it); use rollback --to canary --weight N to lower it"
            )
        return Step(current, current, current_weight, weight)
    if index(target) < index(current):
        raise TransitionError(
            f"{target} is before {current}: use rollback to go back to an earlier phase"
        )
    position = path.index(current)
    following = path[position + 1] if position + 1 < len(path) else None
    if target != following:
        if following is None:
            raise TransitionError(f"{current} is the last phase; there is nothing to advance to")
        raise TransitionError(
            f"{current} -> {target} skips a phase: routes move forward one step at a time "
            f"(next is {following})"
        )
    if target is Phase.CANARY:
        if weight is None:
            raise TransitionError("entering canary needs --weight N (1-99 percent of cohorts)")
        return Step(current, target, current_weight, check_weight(weight))
    if weight is not None:
        raise TransitionError(f"--weight applies to canary only, not to {target}")
    return Step(current, target, current_weight, 0)


def rollback_step(current: Phase, current_weight: int, target: Phase, weight: int | None) -> Step:
    """A backward move: to any earlier phase, or a lower weight within canary."""
    if target == current:
        if target is Phase.CANARY and weight is not None:
            check_weight(weight)
            if weight >= current_weight:
                raise TransitionError(
                    f"rollback only lowers a canary weight ({current_weight} -> {weight} does "
                    "not); use advance --weight N to raise it"
                )
            return Step(current, current, current_weight, weight)
        return Step(current, current, current_weight, current_weight)
    if index(target) > index(current):
        raise TransitionError(f"{target} is after {current}: use advance to move forward")
    if target is Phase.CANARY:
        # Back into canary from migrated or retired: the smallest exposure unless told otherwise.
        return Step(current, target, current_weight, check_weight(weight or MIN_WEIGHT))
    if weight is not None:
        raise TransitionError(f"--weight applies to canary only, not to {target}")
    return Step(current, target, current_weight, 0)


def default_advance_target(routes: Sequence[RouteAt], *, canary_writes: bool) -> Phase:
    """With no --to: the nearest next phase of any route ((phase, method[, reads]) each).

    Routes already past it stay where they are, so one route moved ahead on its own never
    blocks the rest of its feature from catching up.
    """
    nexts = [
        path[path.index(phase) + 1]
        for route in routes
        if (path := _own_path(route, canary_writes)).index(phase := route[0]) + 1 < len(path)
    ]
    if not nexts:
        raise TransitionError("every route is retired; there is nothing to advance to")
    return min(nexts, key=index)


def default_rollback_target(routes: Sequence[RouteAt], *, canary_writes: bool) -> Phase:
    """With no --to: the latest previous phase of any route (routes behind it stay put)."""
    previous = [
        path[path.index(phase) - 1]
        for route in routes
        if (path := _own_path(route, canary_writes)).index(phase := route[0]) > 0
    ]
    if not previous:
        raise TransitionError("every route is in legacy; there is nothing to roll back to")
    return max(previous, key=index)


def _own_path(route: RouteAt, canary_writes: bool) -> tuple[Phase, ...]:
    reads = route[2] if len(route) == 3 else None
    path = path_of(method=route[1], canary_writes=canary_writes, reads=reads)
    return path if route[0] in path else ORDER
