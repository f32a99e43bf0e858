"""Writes of the control plane: register, advance, rollback, audit, digests.

Every function is keyword-only and atomic. A change of route state, its transition rows, its
audit record and the bump of `ficus_control_generation` commit together or not at all, so the
proxy (which polls the generation) never sees a state the history does not explain. Writers
serialize on the generation row (`SELECT ... FOR UPDATE`), which also keeps the audit chain a
chain: two writers never append after the same head.

The rules live in pure modules (`domain.transitions`, `gates`, `audit_chain`); this module loads
rows, applies the rules and stores the outcome. Advance and rollback differ only in how one route
steps and what may refuse the move; walking the routes, gathering evidence, refusing unless
forced and storing the outcome are one code path for both. Refusals are `ControlError`s
carrying an HTTP status and, for gates, every result, so the CLI and the API show the same thing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from django.db import transaction
from django.utils import timezone

from domain import transitions
from domain.ownership import (
    FeatureOwnership,
    feature_ownership,
    takes_records_from_service,
)
from domain.phases import Phase
from domain.plans import Plan, PlanRoute
from domain.route_table import RouteState as StateRow
from migration_plans import gates
from migration_plans.audit_log import append_audit, bump_generation, lock_generation
from migration_plans.control_errors import ControlError
from migration_plans.models import (
    RouteState,
    Transition,
)
from migration_plans.route_moves import (
    default_target,
    evidence_for,
    find_plan,
    moving_only,
    parse_route,
    refuse_unless_forced,
    steps_towards,
)

PLAN_FILE_ACTOR: Final = "plan-file"


@dataclass(frozen=True, slots=True)
class Change:
    method: str
    template: str
    from_phase: str
    to_phase: str
    from_weight: int
    to_weight: int


@dataclass(frozen=True, slots=True)
class Outcome:
    feature: str
    action: str
    changes: tuple[Change, ...]
    forced: bool
    gate_results: tuple[dict[str, Any], ...]
    evidence: dict[str, Any]
    audit_seq: int
    generation: int
    notes: tuple[str, ...] = field(default=())


# --- registration -------------------------------------------------------------------------


@transaction.atomic
def register_routes(*, plans: Iterable[Plan], actor: str = PLAN_FILE_ACTOR) -> int:
    """Give every plan route without a row its plan phase, recorded as a transition."""
    plans = list(plans)
    known = set(RouteState.objects.values_list("method", "template"))
    missing = [
        (plan, route)
        for plan in plans
        for route in plan.routes
        if (route.method, route.path) not in known
    ]
    if not missing:
        return 0
    lock_generation()
    # Another process may have registered them while we waited for the lock.
    known = set(RouteState.objects.values_list("method", "template"))
    now = timezone.now()
    created: dict[str, list[dict[str, Any]]] = {}
    rows: list[tuple[Plan, PlanRoute]] = []
    for plan, route in missing:
        if (route.method, route.path) in known:
            continue
        RouteState.objects.create(
            feature=plan.feature,
            method=route.method,
            template=route.path,
            phase=str(route.phase),
            weight=0,
            since=now,
            actor=actor,
        )
        rows.append((plan, route))
        created.setdefault(plan.feature, []).append(
            {"route": f"{route.method} {route.path}", "phase": str(route.phase)}
        )
    if not rows:
        return 0
    record = append_audit(
        actor=actor,
        action="routes.register",
        subject=", ".join(sorted(created)),
        details={"routes": created, "source": "plan files"},
        at=now,
    )
    Transition.objects.bulk_create(
        Transition(
            at=now,
            actor=actor,
            reason=f"initial phase from {plan.file}",
            feature=plan.feature,
            method=route.method,
            template=route.path,
            scope="route",
            action="register",
            from_phase="",
            to_phase=str(route.phase),
            audit_seq=record.seq,
        )
        for plan, route in rows
    )
    bump_generation(now)
    return len(rows)


# --- advance and rollback -----------------------------------------------------------------


@transaction.atomic
def advance(
    *,
    plans: Sequence[Plan],
    feature: str,
    reason: str,
    actor: str,
    to: str | None = None,
    weight: int | None = None,
    route: str | None = None,
    force: bool = False,
    providers: Sequence[str] | None = None,
) -> Outcome:
    """Move the feature's routes (or one) forward one step, or raise a canary weight."""
    plan, selected, target = _prepare(plans, feature, reason, actor, to, route)
    current = [(transitions.parse_phase(s.phase), s.method) for s in selected]
    if target is None and weight is not None and Phase.CANARY in {p for p, _ in current}:
        target = Phase.CANARY  # `advance F --weight N` in canary raises the weight
    goal = target or default_target(transitions.default_advance_target, current, plan.canary_writes)

    def step_of(state: RouteState, at: Phase, route_goal: Phase) -> transitions.Step | None:
        if target is None and transitions.index(at) > transitions.index(route_goal):
            return None  # moved ahead on its own; a default advance never moves a route back
        return transitions.advance_step(
            at,
            state.weight,
            route_goal,
            weight,
            method=state.method,
            canary_writes=plan.canary_writes,
        )

    moving = moving_only(
        steps_towards(selected, plan, goal, step_of),
        f"every selected route is already in {goal}",
        weight,
    )
    _ownership_around(plan, moving)  # refuses a move that gives a record two writers
    evidence = evidence_for(plan, moving, providers)
    results: list[dict[str, Any]] = []
    shadow = transitions.index(Phase.SHADOW)
    past_shadow = all(transitions.index(step.from_phase) > shadow for _, step in moving)
    for entered in sorted({step.to_phase for _, step in moving}, key=transitions.index):
        gate = plan.gates.get(entered)
        for result in gates.evaluate(gate, evidence, past_shadow=past_shadow):
            results.append({"phase": str(entered), **result.as_dict()})
    failed = sum(not r["passed"] for r in results)
    forced = refuse_unless_forced(
        results,
        evidence,
        force,
        f"advance of {feature} to {goal} refused: {failed} of {len(results)} gate(s) "
        "failed (--force with a reason overrides, and is recorded)",
    )
    return _apply(
        plan=plan,
        action="advance",
        moving=moving,
        route=route,
        reason=reason,
        actor=actor,
        forced=forced,
        results=results,
        evidence=evidence,
    )


@transaction.atomic
def rollback(
    *,
    plans: Sequence[Plan],
    feature: str,
    reason: str,
    actor: str,
    to: str | None = None,
    weight: int | None = None,
    route: str | None = None,
    force: bool = False,
    providers: Sequence[str] | None = None,
) -> Outcome:
    """Move routes back to an earlier phase, refused while service writes have not reached
    legacy (reverse_backlog > 0 or unknown) unless forced."""
    plan, selected, target = _prepare(plans, feature, reason, actor, to, route)
    current = [(transitions.parse_phase(s.phase), s.method) for s in selected]
    goal = target or default_target(
        transitions.default_rollback_target, current, plan.canary_writes
    )

    def step_of(state: RouteState, at: Phase, route_goal: Phase) -> transitions.Step | None:
        if transitions.index(at) < transitions.index(route_goal):
            return None  # already behind the target: a rollback never moves a route forward
        return transitions.rollback_step(at, state.weight, route_goal, weight)

    moving = moving_only(
        steps_towards(selected, plan, goal, step_of), f"no selected route is after {goal}", weight
    )
    evidence = evidence_for(plan, moving, providers)
    results: list[dict[str, Any]] = []
    forced = False
    before, after = _ownership_around(plan, moving)
    if takes_records_from_service(before, after):
        backlog = evidence.value("reverse_backlog")
        ok = backlog is not None and backlog <= 0
        why = (
            f"{backlog} service write(s) not yet in legacy"
            if backlog is not None
            else f"unavailable: {evidence.why_missing('reverse_backlog')}"
        )
        results.append(
            {
                "phase": str(goal),
                "gate": "reverse_backlog",
                "threshold": 0,
                "actual": backlog,
                "passed": ok,
                "reason": "0 service writes waiting for legacy" if ok else why,
            }
        )
        forced = refuse_unless_forced(
            results,
            evidence,
            force,
            f"rollback of {feature} to {goal} refused: legacy has not received every write "
            f"the service made ({why}); wait for reverse sync, or --force with a reason",
        )
    return _apply(
        plan=plan,
        action="rollback",
        moving=moving,
        route=route,
        reason=reason,
        actor=actor,
        forced=forced,
        results=results,
        evidence=evidence,
    )


def _ownership_around(
    plan: Plan, moving: list[tuple[RouteState, transitions.Step]]
) -> tuple[FeatureOwnership, FeatureOwnership]:
    """Who owns the feature's records before and after the move (the one rule). A move after
    which the write routes would disagree about a record is refused: one writer per record."""
    rows = RouteState.objects.filter(feature=plan.feature)
    now = {(r.method, r.template): StateRow(Phase(r.phase), r.weight) for r in rows}
    then = dict(now)
    for state, step in moving:
        then[(state.method, state.template)] = StateRow(step.to_phase, step.to_weight)
    before, after = feature_ownership(plan, now), feature_ownership(plan, then)
    if (problem := after.disagreement()) is not None:
        raise ControlError(problem, status=409)
    return before, after


def _prepare(
    plans: Sequence[Plan],
    feature: str,
    reason: str,
    actor: str,
    to: str | None,
    route: str | None,
) -> tuple[Plan, list[RouteState], Phase | None]:
    if not reason.strip():
        raise ControlError("a reason is required (--reason TEXT): it goes into the history")
    if not actor.strip():
        raise ControlError("an actor is required (--actor NAME)")
    plan = find_plan(plans, feature)
    target = None
    if to is not None:
        try:
            target = transitions.parse_phase(to)
        except transitions.TransitionError as e:
            raise ControlError(str(e)) from e
    register_routes(plans=[plan])
    lock_generation()
    wanted = [(r.method, r.path) for r in plan.routes]
    if route is not None:
        wanted = [parse_route(plan, route)]
    rows = {
        (s.method, s.template): s
        for s in RouteState.objects.select_for_update().filter(feature=plan.feature)
    }
    return plan, [rows[key] for key in wanted if key in rows], target


def _apply(
    *,
    plan: Plan,
    action: str,
    moving: list[tuple[RouteState, transitions.Step]],
    route: str | None,
    reason: str,
    actor: str,
    forced: bool,
    results: list[dict[str, Any]],
    evidence: gates.Evidence,
) -> Outcome:
    """Store one advance or rollback: audit record, route rows, transitions, generation."""
    scope = "route" if route else "feature"
    snapshot = evidence.snapshot()
    now = timezone.now()
    changes = tuple(
        Change(
            s.method, s.template, step.from_phase, step.to_phase, step.from_weight, step.to_weight
        )
        for s, step in moving
    )
    record = append_audit(
        actor=actor,
        action=f"route.{action}" + (".forced" if forced else ""),
        subject=plan.feature,
        details={
            "reason": reason,
            "scope": scope,
            "forced": forced,
            "changes": [
                {
                    "route": f"{c.method} {c.template}",
                    "from": c.from_phase,
                    "to": c.to_phase,
                    "from_weight": c.from_weight,
                    "to_weight": c.to_weight,
                }
                for c in changes
            ],
            "gates": results,
            "evidence": snapshot,
        },
        at=now,
    )
    for state, step in moving:
        state.phase = str(step.to_phase)
        state.weight = step.to_weight
        state.since = now
        state.actor = actor
        state.save(update_fields=["phase", "weight", "since", "actor"])
    Transition.objects.bulk_create(
        Transition(
            at=now,
            actor=actor,
            reason=reason,
            feature=plan.feature,
            method=c.method,
            template=c.template,
            scope=scope,
            action=action,
            from_phase=c.from_phase,
            to_phase=c.to_phase,
            from_weight=c.from_weight,
            to_weight=c.to_weight,
            forced=forced,
            evidence=snapshot,
            gate_results=results,
            audit_seq=record.seq,
        )
        for c in changes
    )
    generation = bump_generation(now)
    return Outcome(
        plan.feature,
        action,
        changes,
        forced,
        tuple(results),
        snapshot,
        record.seq,
        generation,
    )
