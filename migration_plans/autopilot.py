"""`plan autopilot`: one analysis tick, the long-lived worker, the kill switch and the lock.

A tick reads where the feature stands and what the autopilot remembers (`AutopilotState`),
gathers the evidence of the current step with `selectors.evidence` (the same numbers a
person's `plan advance` sees), checks the gates with `gates.evaluate`, asks the pure
`autopilot_core.decide` what to do, and does it through `services.advance` and
`services.rollback` with the actor `autopilot` and the decision's reason. So every automatic
move is the same audit record and transition a person's move is, with its gates and evidence.

A rollback uses the manual rollback's data-aware rule unchanged: when it is refused because
reverse sync still holds service writes (`reverse_backlog`), the tick holds, says how many
changes must drain, and tries again next tick (audited once, `autopilot.rollback.waiting`).
Any other refusal keeps the rollback pending too (audited once, `autopilot.rollback.refused`,
and logged as an error): only a rollback that finds no route after its target locks unmoved.
A rollback locks the feature (`autopilot.lock`) until a person clears it; the kill switch
(`migration_plans.autopilot_controls`) makes every tick do nothing, and a running worker
(`migration_plans.autopilot_worker`) sees it within a second.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from domain import transitions
from domain.phases import Phase
from domain.plan_model import AutopilotSettings
from domain.plans import Plan
from migration_plans import gates, route_moves, selectors, services
from migration_plans.audit_log import append_audit
from migration_plans.autopilot_core import (
    ACTOR,
    Check,
    Decision,
    Kind,
    Memory,
    Position,
    decide,
    next_step,
)
from migration_plans.control_errors import ControlError, GateRefusalError, NothingToChangeError
from migration_plans.evidence import route_evidence
from migration_plans.models import AutopilotState, RouteState

log = logging.getLogger("ficus.autopilot")


@dataclass(frozen=True, slots=True)
class TickReport:
    feature: str
    decision: Decision
    audit_seq: int | None = None  # the record of what was done, when something was

    def describe(self) -> str:
        seq = f" (audit #{self.audit_seq})" if self.audit_seq is not None else ""
        return f"{self.feature}: {self.decision.describe()}{seq}"


def settings_of(plan: Plan) -> AutopilotSettings:
    if plan.autopilot is None:
        raise ControlError(
            f"{plan.file} has no autopilot: section, so the autopilot does not drive "
            f"{plan.feature} (docs/plans.md, Autopilot)",
            status=409,
        )
    return plan.autopilot


def tick(
    *,
    plans: Sequence[Plan],
    feature: str,
    now: datetime | None = None,
    providers: Sequence[str] | None = None,
) -> TickReport:
    """One look at the feature and the one action it calls for (possibly none).

    The analysis (state, evidence, providers) runs outside any transaction, so a person's
    `--stop` is never kept waiting for the write lock by a tick (SQLite takes it at BEGIN); the
    kill switch is read again in the short transaction that acts, and wins."""
    plan = route_moves.find_plan(plans, feature)
    settings = settings_of(plan)
    services.register_routes(plans=[plan])
    seen = AutopilotState.objects.filter(feature=feature).first() or AutopilotState()
    memory = _memory(seen)
    position, lead = _position(feature)
    checks: list[Check] = []
    samples = 0
    if not (memory.stopped or memory.locked or memory.rollback_pending):
        _refuse_routes_apart(plan, position, feature)
        evidence = selectors.evidence(
            feature,
            [(r.method, r.template, r.since) for r in _judged(plan, settings, position, lead)],
            providers=providers,
            plan=plan,  # the plan's thresholds and accepted differences, as `plan advance` uses
        )
        samples = evidence.samples
        checks = _checks(plan, settings, position, evidence)
    decision = decide(
        settings, position, memory, checks=checks, samples=samples, now=now or timezone.now()
    )
    with transaction.atomic():
        row = locked_state_row(feature)
        if _memory(row) != memory:  # a person acted during the analysis: decide again
            decision = decide(
                settings,
                position,
                _memory(row),
                checks=checks,
                samples=samples,
                now=now or timezone.now(),
            )
        if decision.kind is Kind.ROLLBACK and any(
            c.result.name == "max_diff_rate" and not c.result.passed for c in checks
        ):
            decision = _naming_fields(plan, lead, decision)
        report = _act(plans, plan, settings, row, position, decision, providers)
        row.failures = report.decision.failures
        row.last_decision = str(report.decision.kind)
        row.last_reason = report.decision.reason
        row.last_at = timezone.now()
        row.save()
    log.info("autopilot %s", report.describe())
    return report


def _judged(
    plan: Plan, settings: AutopilotSettings, position: Position, lead: list[RouteState]
) -> list[RouteState]:
    """The routes the next step moves, as `plan advance` judges a move by its moving routes:
    writes that wait in shadow while the reads go on (no `canary_writes`) are not judged by the
    canary's gate. All the lead routes when the step moves none of them, or at the target."""
    step = next_step(settings, position)
    if step is None:
        return lead
    moving = [
        r
        for r in lead
        if transitions.effective_target(
            step[0],
            method=r.method,
            canary_writes=plan.canary_writes,
            reads=plan.route_reads(r.method, r.template),
        )
        is not position.phase
    ]
    # A weight raise (canary to canary) moves every lead route: `moving` is empty then.
    return moving or lead


def _memory(row: AutopilotState) -> Memory:
    return Memory(row.stopped, row.locked, row.lock_reason, row.failures, row.rollback_pending)


def _act(
    plans: Sequence[Plan],
    plan: Plan,
    settings: AutopilotSettings,
    row: AutopilotState,
    position: Position,
    decision: Decision,
    providers: Sequence[str] | None,
) -> TickReport:
    feature = plan.feature

    def move(operation: Callable[..., services.Outcome], why: str, **to: Any) -> services.Outcome:
        return operation(
            plans=plans,
            feature=feature,
            reason=f"autopilot: {why}",
            actor=ACTOR,
            providers=providers,
            **to,
        )

    if decision.kind is Kind.ADVANCE:
        try:
            outcome = move(
                services.advance, decision.reason, to=str(decision.to_phase), weight=decision.weight
            )
        except ControlError as e:  # the evidence moved since the checks, or a route cannot
            return TickReport(feature, _hold(f"advance refused: {e.reason}", decision))
        return TickReport(feature, decision, outcome.audit_seq)
    if decision.kind is not Kind.ROLLBACK:
        return TickReport(feature, decision)
    why = row.lock_reason if row.rollback_pending else decision.reason
    try:
        outcome = move(services.rollback, why, to=str(settings.rollback_to))
    except NothingToChangeError as e:  # no route after the target: lock all the same
        log.warning("autopilot %s: rollback found nothing to move: %s", feature, e.reason)
        seq = _lock(row, why, {"rollback": e.reason})
        return TickReport(feature, dataclasses.replace(decision, failures=0), seq)
    except GateRefusalError as e:
        return _wait_for_drain(row, position, why, decision, e)
    except ControlError as e:  # refused (two writers, a step the rules forbid): not rolled back
        return _refused(row, position, why, decision, e)
    seq = _lock(row, why, {"rollback_audit_seq": outcome.audit_seq, "evidence": outcome.evidence})
    return TickReport(feature, dataclasses.replace(decision, failures=0), seq)


def _wait_for_drain(
    row: AutopilotState, position: Position, why: str, decision: Decision, e: GateRefusalError
) -> TickReport:
    """The manual rollback's data-aware refusal: hold, say what must drain, retry next tick."""
    backlog = next((r for r in e.results if r.get("gate") == "reverse_backlog"), None)
    if backlog is None:
        return _refused(row, position, why, decision, e)
    waiting = (
        f"waiting for {backlog['actual']} reverse change(s) to drain"
        if backlog["actual"] is not None
        else f"waiting for the reverse backlog to be known ({backlog['reason']})"
    )
    reason = f"rollback decided, {waiting} before the routes leave {position.describe()}"
    details = {"waiting": waiting, "gates": e.results, "evidence": e.evidence}
    seq = _pending(row, why, "autopilot.rollback.waiting", details)
    return TickReport(row.feature, _hold(reason, decision), seq)


def _refused(
    row: AutopilotState, position: Position, why: str, decision: Decision, e: ControlError
) -> TickReport:
    """A rollback the control plane refused for another reason than the backlog: the routes are
    still where they failed, so the rollback stays pending (retried every tick) and a person is
    told, loudly and once in the audit log (`autopilot.rollback.refused`)."""
    log.error(
        "autopilot %s: ROLLBACK REFUSED at %s: %s (still pending; a person must act)",
        row.feature,
        position.describe(),
        e.reason,
    )
    details = {"refusal": e.reason, "at": position.describe()}
    seq = _pending(row, why, "autopilot.rollback.refused", details)
    held = f"rollback refused at {position.describe()}: {e.reason}"
    return TickReport(row.feature, _hold(held, decision), seq)


def _pending(row: AutopilotState, why: str, action: str, details: dict[str, Any]) -> int | None:
    """Keep the rollback pending; audited the first time only (the record's seq, else None)."""
    if row.rollback_pending:
        return None
    row.rollback_pending, row.lock_reason = True, why
    return append_audit(
        actor=ACTOR, action=action, subject=row.feature, details={"reason": why, **details}
    ).seq


def _lock(row: AutopilotState, why: str, details: dict[str, Any]) -> int:
    row.locked, row.rollback_pending, row.lock_reason = True, False, why
    record = append_audit(
        actor=ACTOR,
        action="autopilot.lock",
        subject=row.feature,
        details={"reason": why, **details},
    )
    return record.seq


def _naming_fields(plan: Plan, lead: Sequence[RouteState], decision: Decision) -> Decision:
    """A rollback on the diff rate names the fields that really differed, in its reason (and so
    in its audit records and `plan history`): after the move the evidence starts afresh."""
    names = sorted(
        {
            f.field
            for r in lead
            for f in route_evidence(
                plan.feature, r.method, r.template, r.since, plan
            ).assessment.real_fields
        }
    )
    if not names:
        return decision
    return dataclasses.replace(
        decision, reason=f"{decision.reason}; real differences in {', '.join(names)}"
    )


def _hold(reason: str, decision: Decision) -> Decision:
    return Decision(Kind.HOLD, reason, decision.failures)


def _checks(
    plan: Plan, settings: AutopilotSettings, position: Position, evidence: gates.Evidence
) -> list[Check]:
    """The gate of the phase the next step enters, then the current phase's own gate."""
    step = next_step(settings, position)
    phases = [p for p in (step[0] if step else None, position.phase) if p is not None]
    checks: list[Check] = []
    for phase in dict.fromkeys(phases):
        checks.extend(Check(phase, r) for r in gates.evaluate(plan.gates.get(phase), evidence))
    return checks


def _position(feature: str) -> tuple[Position, list[RouteState]]:
    """The lead routes (those furthest along) and where they stand."""
    rows = list(RouteState.objects.filter(feature=feature))
    if not rows:
        raise ControlError(f"{feature} has no registered routes", status=409)
    lead_index = max(transitions.index(transitions.parse_phase(r.phase)) for r in rows)
    lead = [r for r in rows if transitions.index(transitions.parse_phase(r.phase)) == lead_index]
    phase = transitions.parse_phase(lead[0].phase)
    weight = max(r.weight for r in lead) if phase is Phase.CANARY else 0
    return Position(phase, weight, max(r.since for r in lead)), lead


def _refuse_routes_apart(plan: Plan, position: Position, feature: str) -> None:
    """The autopilot moves a feature's routes together; a route a person moved on its own (or
    a plan file that starts them in different phases) is refused, not dragged along: an
    advance with a target would move a lagging route too (or fail on its skipped phase), and
    a lead at the target would report done while others are still behind."""
    rows = RouteState.objects.filter(feature=feature).order_by("id")
    apart = [
        f"{r.method} {r.template} ({r.phase})"
        for r in rows
        if r.phase
        != transitions.effective_target(
            position.phase, method=r.method, canary_writes=plan.canary_writes
        )
    ]
    if apart:
        raise ControlError(
            f"{feature}: the autopilot moves a feature's routes together, and these stand "
            f"apart from the lead at {position.phase}: {'; '.join(apart)}. Bring them to the "
            "lead's phase with plan advance/rollback --route first (docs/control-plane.md, "
            "Autopilot)",
            status=409,
        )


def locked_state_row(feature: str) -> AutopilotState:
    row, _ = AutopilotState.objects.select_for_update().get_or_create(feature=feature)
    return row
