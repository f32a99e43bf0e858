"""services.advance: one step at a time, gated, recorded, and shown to the proxy."""

from __future__ import annotations

import json

import pytest

from migration_plans import control_errors, services
from migration_plans.models import AuditRecord, ControlGeneration, RouteState, Transition
from tests.migration_plans.control import CANARY_GATE, ONE, backdate, make_plan, record_stats

pytestmark = pytest.mark.django_db(databases=["default"])
OPERATOR = "operator-olga"


def advance(plan, **kwargs):
    kwargs.setdefault("reason", "shadow diffs clean for a week")
    kwargs.setdefault("actor", OPERATOR)
    return services.advance(plans=[plan], feature=plan.feature, providers=[], **kwargs)


def phase_of(method):
    return RouteState.objects.values_list("phase", "weight").get(method=method, template=ONE)


def test_it_registers_routes_with_their_plan_phase_as_a_transition_by_the_plan_file():
    plan = make_plan(routes=(("GET", ONE, "shadow"), ("PUT", ONE, "legacy")))
    assert services.register_routes(plans=[plan]) == 2
    assert services.register_routes(plans=[plan]) == 0  # idempotent
    assert phase_of("GET") == ("shadow", 0)
    first = Transition.objects.get(method="GET")
    assert (first.actor, first.from_phase, first.to_phase) == ("plan-file", "", "shadow")
    assert AuditRecord.objects.get().action == "routes.register"


def test_it_moves_the_whole_feature_one_step_and_records_it():
    plan = make_plan()
    outcome = advance(plan)
    assert [(c.method, c.from_phase, c.to_phase) for c in outcome.changes] == [
        ("GET", "legacy", "shadow"),
        ("PUT", "legacy", "shadow"),
    ]
    assert phase_of("GET") == ("shadow", 0)
    moved = Transition.objects.filter(action="advance")
    assert {t.actor for t in moved} == {OPERATOR}
    assert {t.scope for t in moved} == {"feature"}
    record = AuditRecord.objects.get(seq=outcome.audit_seq)
    assert record.action == "route.advance"
    assert json.loads(record.details)["reason"] == "shadow diffs clean for a week"


def test_it_refuses_a_failing_gate_shows_every_number_and_changes_nothing():
    plan = make_plan(gates=CANARY_GATE)
    advance(plan)
    record_stats(side="shadow", requests=40, errors=4)
    record_stats(side="legacy", requests=40)
    generation = ControlGeneration.objects.get().generation
    with pytest.raises(control_errors.GateRefusalError) as refused:
        advance(plan, weight=10)
    results = {r["gate"]: r for r in refused.value.results}
    assert results["min_samples"]["actual"] == 40
    assert not results["min_samples"]["passed"]
    assert results["max_error_rate"]["actual"] == 0.1
    assert results["max_p99_ratio"]["passed"]
    assert refused.value.status == 409
    assert phase_of("GET") == ("shadow", 0)
    assert ControlGeneration.objects.get().generation == generation


def test_it_enters_canary_with_a_weight_when_gates_pass_and_keeps_writes_in_shadow():
    plan = make_plan(gates=CANARY_GATE)
    advance(plan)
    record_stats(side="shadow", requests=150)
    record_stats(side="legacy", requests=150)
    outcome = advance(plan, weight=10)
    assert phase_of("GET") == ("canary", 10)
    assert phase_of("PUT") == ("shadow", 0)  # canary_writes is false
    assert all(r["passed"] for r in outcome.gate_results)
    assert not outcome.forced
    snapshot = Transition.objects.filter(to_phase="canary").get().evidence
    assert snapshot["samples"] == 150


def test_it_lets_write_routes_join_the_canary_when_the_plan_allows_it():
    plan = make_plan(canary_writes=True)
    advance(plan)
    advance(plan, weight=25)
    assert phase_of("PUT") == ("canary", 25)


def test_it_records_a_forced_advance_past_failing_gates():
    plan = make_plan(gates=CANARY_GATE)
    advance(plan)
    outcome = advance(plan, weight=5, force=True, reason="incident 42: legacy is down")
    assert outcome.forced
    transition = Transition.objects.get(to_phase="canary")
    assert transition.forced
    assert not all(r["passed"] for r in transition.gate_results)
    assert AuditRecord.objects.get(seq=outcome.audit_seq).action == "route.advance.forced"


def test_it_raises_the_canary_weight_and_re_evaluates_the_gates():
    plan = make_plan(gates=CANARY_GATE)
    advance(plan)
    backdate(60)
    record_stats(side="shadow", requests=150, ago=30)
    record_stats(side="legacy", requests=150, ago=30)
    advance(plan, weight=10)
    # Evidence counts from the start of the current weight: none yet, so the gate refuses.
    with pytest.raises(control_errors.GateRefusalError):
        advance(plan, weight=50)
    record_stats(side="service", requests=200)
    record_stats(side="legacy", requests=200)
    advance(plan, weight=50)
    assert phase_of("GET") == ("canary", 50)
    with pytest.raises(control_errors.ControlError, match="only raises"):
        advance(plan, weight=20)


def test_it_goes_from_canary_to_migrated_with_writes_following():
    plan = make_plan()
    advance(plan)
    advance(plan, weight=10)
    outcome = advance(plan)
    assert {(c.method, c.from_phase, c.to_phase) for c in outcome.changes} == {
        ("GET", "canary", "migrated"),
        ("PUT", "shadow", "migrated"),
    }
    assert phase_of("GET") == ("migrated", 0)


def test_it_moves_one_route_on_request():
    plan = make_plan()
    outcome = advance(plan, route=f"PUT {ONE}")
    assert [c.method for c in outcome.changes] == ["PUT"]
    assert Transition.objects.get(action="advance").scope == "route"
    assert phase_of("GET") == ("legacy", 0)


def test_it_refuses_bad_requests_with_a_reason():
    plan = make_plan()
    with pytest.raises(control_errors.ControlError, match="skips a phase"):
        advance(plan, to="migrated")
    advance(plan, route=f"GET {ONE}")
    with pytest.raises(control_errors.ControlError, match="needs --weight"):
        advance(plan, route=f"GET {ONE}", to="canary")
    with pytest.raises(control_errors.ControlError, match="is not a route of appointments"):
        advance(plan, route="GET /api/nothing")
    with pytest.raises(control_errors.ControlError, match="no plan for feature 'billing'"):
        services.advance(plans=[plan], feature="billing", reason="x", actor=OPERATOR)
    with pytest.raises(control_errors.ControlError, match="reason is required"):
        advance(plan, reason="  ")
    with pytest.raises(control_errors.ControlError, match="is not a phase"):
        advance(plan, to="live")


def test_it_lets_the_rest_of_a_feature_catch_up_with_a_route_moved_ahead():
    plan = make_plan(routes=(("GET", "/api/appointments", "legacy"), ("GET", ONE, "migrated")))
    outcome = advance(plan)
    assert [(c.template, c.to_phase) for c in outcome.changes] == [("/api/appointments", "shadow")]
    assert phase_of("GET") == ("migrated", 0)
