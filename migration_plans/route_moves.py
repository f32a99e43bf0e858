"""How an advance or a rollback picks its routes and steps: the plan and route named, each
route's step towards the goal, the moves that change something, the gates' verdict."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from domain import transitions
from domain.phases import Phase
from domain.plans import Plan
from migration_plans import gates, selectors
from migration_plans.control_errors import ControlError, GateRefusalError, NothingToChangeError
from migration_plans.models import RouteState


def find_plan(plans: Sequence[Plan], feature: str) -> Plan:
    for plan in plans:
        if plan.feature == feature:
            return plan
    known = ", ".join(sorted(p.feature for p in plans)) or "none"
    raise ControlError(f"no plan for feature {feature!r} (known: {known})", status=404)


def parse_route(plan: Plan, text: str) -> tuple[str, str]:
    """'METHOD /template' to a route of plan, or a ControlError listing the plan's routes."""
    method, _, path = text.strip().partition(" ")
    key = (method.upper(), path.strip())
    for route in plan.routes:
        if (route.method, route.template) == key:
            return key
    listed = "; ".join(f"{r.method} {r.template}" for r in plan.routes)
    raise ControlError(
        f"{text!r} is not a route of {plan.feature} (use one of: {listed})", status=404
    )


def default_target(rule: Any, current: Sequence[transitions.RouteAt], canary_writes: bool) -> Phase:
    try:
        phase: Phase = rule(current, canary_writes=canary_writes)
    except transitions.TransitionError as e:
        raise ControlError(str(e), status=409) from e
    return phase


StepOf = Callable[[RouteState, Phase, Phase], transitions.Step | None]


def steps_towards(
    selected: list[RouteState], plan: Plan, goal: Phase, step_of: StepOf
) -> list[tuple[RouteState, transitions.Step]]:
    """The step of every selected route towards goal (as the route's method may go); step_of
    says how one route moves, or None to leave it where it is."""
    steps: list[tuple[RouteState, transitions.Step]] = []
    for state in selected:
        state_phase = transitions.parse_phase(state.phase)
        route_goal = transitions.effective_target(
            goal,
            method=state.method,
            canary_writes=plan.canary_writes,
            reads=plan.route_reads(state.method, state.template),
        )
        try:
            step = step_of(state, state_phase, route_goal)
        except transitions.TransitionError as e:
            raise ControlError(f"{state.method} {state.template}: {e}", status=409) from e
        if step is not None:
            steps.append((state, step))
    return steps


def evidence_for(
    plan: Plan, moving: list[tuple[RouteState, transitions.Step]], providers: Sequence[str] | None
) -> gates.Evidence:
    return selectors.evidence(
        plan.feature,
        [(s.method, s.template, s.since) for s, _ in moving],
        providers=providers,
        plan=plan,
    )


def refuse_unless_forced(
    results: list[dict[str, Any]], evidence: gates.Evidence, force: bool, refusal: str
) -> bool:
    """Raise the refusal when a gate failed and nobody forced it; True when force overrode a
    failed gate (the move is then recorded as forced)."""
    failed = any(not r["passed"] for r in results)
    if failed and not force:
        raise GateRefusalError(refusal, results=results, evidence=evidence.snapshot())
    return failed


def moving_only(
    steps: list[tuple[RouteState, transitions.Step]], nothing: str, weight: int | None
) -> list[tuple[RouteState, transitions.Step]]:
    moving = [(s, step) for s, step in steps if step.changes]
    if not moving:
        hint = "" if weight is not None else " (in canary, --weight N changes the weight)"
        raise NothingToChangeError(f"nothing to change: {nothing}{hint}")
    return moving


def route_at(plan: Plan, state: RouteState) -> transitions.RouteAt:
    """Where a route stands, with its read/write class (an RPC route's is its plan's)."""
    reads = plan.route_reads(state.method, state.template)
    return (transitions.parse_phase(state.phase), state.method, reads)
