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

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from django.contrib.auth.models import Group, User
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from rest_framework.authtoken.models import Token

from domain import transitions
from domain.ownership import (
    FeatureOwnership,
    feature_ownership,
    takes_records_from_service,
)
from domain.phases import Phase
from domain.plans import Plan, PlanRoute
from domain.route_table import RouteState as StateRow
from migration_plans import audit_chain, gates, selectors
from migration_plans.models import (
    AuditDigest,
    AuditRecord,
    ControlGeneration,
    RouteState,
    Transition,
)

PLAN_FILE_ACTOR: Final = "plan-file"
AUDIT_KEY_VAR: Final = "FICUS_AUDIT_KEY"


class ControlError(Exception):
    """A refused request; `status` is what the API answers, the message what people read."""

    status = 400

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.reason = message
        if status is not None:
            self.status = status


class GateRefusalError(ControlError):
    """An advance whose gates failed; carries every gate result and the evidence."""

    status = 409

    def __init__(
        self, message: str, *, results: Sequence[dict[str, Any]], evidence: dict[str, Any]
    ) -> None:
        super().__init__(message)
        self.results = list(results)
        self.evidence = evidence


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
    _lock()
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
    _bump(now)
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
    goal = target or _default(transitions.default_advance_target, current, plan.canary_writes)

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

    moving = _moving(
        _steps(selected, plan, goal, step_of), f"every selected route is already in {goal}", weight
    )
    _ownership_around(plan, moving)  # refuses a move that gives a record two writers
    evidence = _evidence(feature, moving, providers)
    results: list[dict[str, Any]] = []
    for entered in sorted({step.to_phase for _, step in moving}, key=transitions.index):
        for result in gates.evaluate(plan.gates.get(entered), evidence):
            results.append({"phase": str(entered), **result.as_dict()})
    failed = sum(not r["passed"] for r in results)
    forced = _refuse_unless_forced(
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
    goal = target or _default(transitions.default_rollback_target, current, plan.canary_writes)

    def step_of(state: RouteState, at: Phase, route_goal: Phase) -> transitions.Step | None:
        if transitions.index(at) < transitions.index(route_goal):
            return None  # already behind the target: a rollback never moves a route forward
        return transitions.rollback_step(at, state.weight, route_goal, weight)

    moving = _moving(
        _steps(selected, plan, goal, step_of), f"no selected route is after {goal}", weight
    )
    evidence = _evidence(feature, moving, providers)
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
        forced = _refuse_unless_forced(
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
    _lock()
    wanted = [(r.method, r.path) for r in plan.routes]
    if route is not None:
        wanted = [parse_route(plan, route)]
    rows = {
        (s.method, s.template): s
        for s in RouteState.objects.select_for_update().filter(feature=plan.feature)
    }
    return plan, [rows[key] for key in wanted if key in rows], target


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
        if (route.method, route.path) == key:
            return key
    listed = "; ".join(f"{r.method} {r.path}" for r in plan.routes)
    raise ControlError(
        f"{text!r} is not a route of {plan.feature} (use one of: {listed})", status=404
    )


def _default(rule: Any, current: list[tuple[Phase, str]], canary_writes: bool) -> Phase:
    try:
        phase: Phase = rule(current, canary_writes=canary_writes)
    except transitions.TransitionError as e:
        raise ControlError(str(e), status=409) from e
    return phase


_StepOf = Callable[[RouteState, Phase, Phase], transitions.Step | None]


def _steps(
    selected: list[RouteState], plan: Plan, goal: Phase, step_of: _StepOf
) -> list[tuple[RouteState, transitions.Step]]:
    """The step of every selected route towards goal (as the route's method may go); step_of
    says how one route moves, or None to leave it where it is."""
    steps: list[tuple[RouteState, transitions.Step]] = []
    for state in selected:
        state_phase = transitions.parse_phase(state.phase)
        route_goal = transitions.effective_target(
            goal, method=state.method, canary_writes=plan.canary_writes
        )
        try:
            step = step_of(state, state_phase, route_goal)
        except transitions.TransitionError as e:
            raise ControlError(f"{state.method} {state.template}: {e}", status=409) from e
        if step is not None:
            steps.append((state, step))
    return steps


def _evidence(
    feature: str, moving: list[tuple[RouteState, transitions.Step]], providers: Sequence[str] | None
) -> gates.Evidence:
    return selectors.evidence(
        feature, [(s.method, s.template, s.since) for s, _ in moving], providers=providers
    )


def _refuse_unless_forced(
    results: list[dict[str, Any]], evidence: gates.Evidence, force: bool, refusal: str
) -> bool:
    """Raise the refusal when a gate failed and nobody forced it; True when force overrode a
    failed gate (the move is then recorded as forced)."""
    failed = any(not r["passed"] for r in results)
    if failed and not force:
        raise GateRefusalError(refusal, results=results, evidence=evidence.snapshot())
    return failed


def _moving(
    steps: list[tuple[RouteState, transitions.Step]], nothing: str, weight: int | None
) -> list[tuple[RouteState, transitions.Step]]:
    moving = [(s, step) for s, step in steps if step.changes]
    if not moving:
        hint = "" if weight is not None else " (in canary, --weight N changes the weight)"
        raise ControlError(f"nothing to change: {nothing}{hint}", status=409)
    return moving


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
    generation = _bump(now)
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


# --- generation and audit -------------------------------------------------------------------


def _lock() -> ControlGeneration:
    """Serialize control-plane writers on the generation row (created if a test flushed it)."""
    row, _ = ControlGeneration.objects.select_for_update().get_or_create(
        id=1, defaults={"generation": 0, "changed_at": timezone.now()}
    )
    return row


def _bump(now: datetime) -> int:
    _lock()
    ControlGeneration.objects.filter(id=1).update(generation=F("generation") + 1, changed_at=now)
    return int(ControlGeneration.objects.values_list("generation", flat=True).get(id=1))


@transaction.atomic
def append_audit(
    *,
    actor: str,
    action: str,
    subject: str,
    details: Mapping[str, Any],
    at: datetime | None = None,
) -> AuditRecord:
    """Append one record after the current head. Details: no PHI, no request bodies."""
    _lock()
    head = AuditRecord.objects.order_by("-seq").first()
    seq = head.seq + 1 if head else 1
    prev_hash = head.hash if head else audit_chain.GENESIS
    when = at or timezone.now()
    details = dict(details)
    text = audit_chain.canonical(details).decode("utf-8")
    digest = audit_chain.record_hash(
        seq=seq,
        at=when,
        actor=actor,
        action=action,
        subject=subject,
        details=details,
        prev_hash=prev_hash,
    )
    return AuditRecord.objects.create(
        seq=seq,
        at=when,
        actor=actor,
        action=action,
        subject=subject,
        details=text,
        prev_hash=prev_hash,
        hash=digest,
    )


def audit_key(environ: Mapping[str, str] | None = None) -> bytes:
    """FICUS_AUDIT_KEY as bytes, or a ControlError saying what is wrong with it."""
    raw = (environ if environ is not None else os.environ).get(AUDIT_KEY_VAR, "")
    if not raw:
        raise ControlError(f"{AUDIT_KEY_VAR} is not set: digests are signed with it")
    try:
        return audit_chain.check_key(raw.encode("utf-8"))
    except ValueError as e:
        raise ControlError(f"{AUDIT_KEY_VAR}: {e}") from e


@transaction.atomic
def sign_digest(*, actor: str, key: bytes) -> AuditDigest:
    """Sign the chain's current head, then record the signing itself in the chain."""
    _lock()
    head = AuditRecord.objects.order_by("-seq").first()
    if head is None:
        raise ControlError("the audit log is empty: there is no head to sign", status=409)
    now = timezone.now()
    signature = audit_chain.sign(key, seq=head.seq, head_hash=head.hash, at=now)
    digest = AuditDigest.objects.create(
        seq=head.seq,
        head_hash=head.hash,
        at=now,
        signature=signature,
        key_id=audit_chain.key_id(key),
    )
    append_audit(
        actor=actor,
        action="audit.digest",
        subject=f"digest {digest.id}",
        details={"digest": digest.id, "seq": head.seq, "key_id": digest.key_id},
        at=now,
    )
    return digest


# --- API tokens -------------------------------------------------------------------------------

ROLES: Final = ("operator", "auditor")


@transaction.atomic
def create_token(*, username: str, role: str, actor: str) -> str:
    """A new API token for username with role (replacing any old one); returns its key once."""
    if role not in ROLES:
        raise ControlError(f"{role!r} is not a role (use {' or '.join(ROLES)})")
    if not username.strip():
        raise ControlError("a user name is required (--user NAME)")
    user, created = User.objects.get_or_create(username=username)
    if created:
        user.set_unusable_password()  # tokens only; nobody logs in with a password
        user.save(update_fields=["password"])
    user.groups.remove(*Group.objects.filter(name__in=ROLES).exclude(name=role))
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    Token.objects.filter(user=user).delete()
    token = Token.objects.create(user=user)
    append_audit(
        actor=actor,
        action="token.create",
        subject=f"user {username}",
        details={"user": username, "role": role, "user_created": created},
    )
    return str(token.key)


@transaction.atomic
def revoke_token(*, username: str, actor: str) -> None:
    deleted, _ = Token.objects.filter(user__username=username).delete()
    if not deleted:
        raise ControlError(f"user {username!r} has no token", status=404)
    append_audit(
        actor=actor, action="token.revoke", subject=f"user {username}", details={"user": username}
    )
