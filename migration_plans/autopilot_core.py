"""The autopilot's decision: hold, advance, roll back, done, locked or stopped (pure).

The analysis loop of progressive-delivery controllers (Flagger's canary analysis, Argo
Rollouts' analysis runs), driven by the plan's `autopilot:` section and its gates. Each tick
looks at where the feature stands (its lead routes' phase, weight and since when), the
autopilot's memory (kill switch, lock, consecutive failures, a rollback waiting to finish)
and the gate results: the gate of the phase the next step enters (is it ready to go on?) and
the gate of the phase it is in (is it still healthy there?). The rules, in order:

1. stopped (the kill switch) and locked (after a rollback) act on nothing;
2. a rollback that had to wait (reverse sync still bringing writes to legacy) is retried;
3. legacy routes are a person's to start; at the target the work is done;
4. fewer samples than the step needs: hold. No data is never a pass, nor a failure;
5. a failed `rollback_on` check (an error rate over its threshold) counts; at
   `failure_threshold` consecutive ones the feature rolls back, below it holds;
6. any other failed check holds: a slow service (p99 over the gate) is held, not promoted,
   and a value nobody measured (a provider down) is inconclusive, so it holds too;
7. every check passed: advance once the step has stood for `dwell_seconds`.

The count of consecutive failures goes back to 0 only when every rollback check passes with
data. No Django here: `migration_plans.autopilot` feeds it rows and acts on its answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from domain.phases import Phase
from domain.plan_model import AutopilotSettings
from domain.transitions import index
from migration_plans.gates import GateResult

ACTOR = "autopilot"


class Kind(StrEnum):
    HOLD = "hold"
    ADVANCE = "advance"
    ROLLBACK = "rollback"
    DONE = "done"
    LOCKED = "locked"
    STOPPED = "stopped"


@dataclass(frozen=True, slots=True)
class Position:
    """Where the feature stands: its lead routes' phase and weight, and since when."""

    phase: Phase
    weight: int
    since: datetime

    def describe(self) -> str:
        return f"canary {self.weight}%" if self.phase is Phase.CANARY else str(self.phase)


@dataclass(frozen=True, slots=True)
class Memory:
    """What the autopilot keeps between ticks (a row per feature in the control plane)."""

    stopped: bool = False
    locked: bool = False
    lock_reason: str = ""
    failures: int = 0
    rollback_pending: bool = False


@dataclass(frozen=True, slots=True)
class Check:
    """One gate result, with the phase whose gate set it."""

    phase: Phase
    result: GateResult

    def describe(self) -> str:
        return f"{self.phase} {self.result.name}: {self.result.reason}"


@dataclass(frozen=True, slots=True)
class Decision:
    kind: Kind
    reason: str
    failures: int = 0  # consecutive failed checks after this tick
    to_phase: Phase | None = None
    weight: int | None = None  # the canary weight of an advance into or within canary

    def describe(self) -> str:
        return f"{self.kind}: {self.reason}"


def next_step(settings: AutopilotSettings, position: Position) -> tuple[Phase, int | None] | None:
    """Where the next advance goes (phase, canary weight), or None at the target."""
    phase, weight = position.phase, position.weight
    if index(phase) > index(settings.target):
        return None
    if phase is Phase.SHADOW:
        return Phase.CANARY, settings.steps[0]
    if phase is Phase.CANARY:
        higher = [step for step in settings.steps if step > weight]
        if higher:
            return Phase.CANARY, higher[0]
        return (Phase.MIGRATED, None) if settings.target is Phase.MIGRATED else None
    return None


def decide(
    settings: AutopilotSettings,
    position: Position,
    memory: Memory,
    *,
    checks: Sequence[Check],
    samples: int,
    now: datetime,
) -> Decision:
    """The one thing to do this tick (see the module docstring for the rules)."""
    failures = memory.failures
    if memory.stopped:
        return Decision(Kind.STOPPED, "the kill switch is on; nothing is done", failures)
    if memory.locked:
        return Decision(Kind.LOCKED, f"locked since a rollback: {memory.lock_reason}", failures)
    if memory.rollback_pending:
        return _rollback("finishing the rollback decided earlier", settings, failures)
    if position.phase is Phase.LEGACY:
        return Decision(
            Kind.HOLD, "the routes are in legacy: a person moves them to shadow first", failures
        )
    step = next_step(settings, position)
    if step is None:
        return Decision(Kind.DONE, f"at {position.describe()}, the autopilot's target", failures)
    where = position.describe()
    if samples < settings.min_samples:
        return Decision(
            Kind.HOLD,
            f"collecting samples at {where}: {samples} of {settings.min_samples}",
            failures,
        )
    counted = [c for c in checks if c.result.name in settings.rollback_on and not c.result.passed]
    if measured := [c for c in counted if c.result.actual is not None]:
        failures += 1
        shown = "; ".join(c.describe() for c in measured)
        can_roll_back = index(position.phase) > index(settings.rollback_to)
        if failures >= settings.failure_threshold and can_roll_back:
            return _rollback(
                f"{failures} consecutive failed check(s) at {where}: {shown}", settings, failures
            )
        count = (
            f"{failures} of {settings.failure_threshold}"
            if can_roll_back
            else f"{failures} in a row, nothing to roll back to before {where}"
        )
        return Decision(Kind.HOLD, f"failed check {count} at {where}: {shown}", failures)
    if not counted:
        failures = 0  # every rollback check passed, with data
    if failing := [c for c in checks if not c.result.passed]:
        shown = "; ".join(c.describe() for c in failing)
        return Decision(Kind.HOLD, f"not promoted from {where}: {shown}", failures)
    stood = (now - position.since).total_seconds()
    if stood < settings.dwell_seconds:
        return Decision(
            Kind.HOLD,
            f"dwelling at {where}: {stood:.0f} s of {settings.dwell_seconds:g} s",
            failures,
        )
    to_phase, weight = step
    goal = f"canary {weight}%" if weight is not None else str(to_phase)
    passed = f"{len(checks)} check(s) passed" if checks else "no gate to check"
    return Decision(
        Kind.ADVANCE,
        f"{where} -> {goal}: {samples} samples, {stood:.0f} s, {passed}",
        0,
        to_phase,
        weight,
    )


def _rollback(why: str, settings: AutopilotSettings, failures: int) -> Decision:
    return Decision(Kind.ROLLBACK, why, failures, settings.rollback_to)
