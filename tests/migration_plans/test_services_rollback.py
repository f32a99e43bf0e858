"""services.rollback: back to any earlier phase, refused while legacy lacks service writes."""

from __future__ import annotations

import pytest

from migration_plans import control_errors, services
from migration_plans.models import AuditRecord, RouteState, Transition
from tests.migration_plans.control import ONE, make_plan

pytestmark = pytest.mark.django_db(databases=["default"])
HERE = "tests.migration_plans.test_services_rollback"


def backlog_zero(feature):
    return {"reverse_backlog": 0, "sync_lag_seconds": 0.4}


def backlog_three(feature):
    return {"reverse_backlog": 3}


def provider_down(feature):
    raise ConnectionError("sync database unreachable")


def migrated_plan():
    plan = make_plan(routes=(("GET", ONE, "migrated"), ("PUT", ONE, "migrated")))
    services.register_routes(plans=[plan])
    return plan


def rollback(plan, provider, **kwargs):
    kwargs.setdefault("reason", "service returns 500s")
    kwargs.setdefault("actor", "operator-olga")
    return services.rollback(
        plans=[plan], feature=plan.feature, providers=[f"{HERE}.{provider}"], **kwargs
    )


def phases():
    return dict(RouteState.objects.values_list("method", "phase"))


def test_it_rolls_back_out_of_migrated_when_legacy_has_every_write():
    plan = migrated_plan()
    outcome = rollback(plan, "backlog_zero", to="shadow")
    assert phases() == {"GET": "shadow", "PUT": "shadow"}
    assert outcome.gate_results[0]["gate"] == "reverse_backlog"
    assert outcome.gate_results[0]["passed"]
    assert Transition.objects.filter(action="rollback").count() == 2


def test_it_refuses_while_writes_wait_for_reverse_sync():
    plan = migrated_plan()
    with pytest.raises(control_errors.GateRefusalError, match="3 service write"):
        rollback(plan, "backlog_three", to="shadow")
    assert phases() == {"GET": "migrated", "PUT": "migrated"}


def test_it_refuses_when_the_backlog_is_unknown():
    plan = migrated_plan()
    with pytest.raises(control_errors.GateRefusalError, match="ConnectionError"):
        rollback(plan, "provider_down", to="legacy")


def test_it_records_a_forced_rollback():
    plan = migrated_plan()
    outcome = rollback(plan, "backlog_three", to="legacy", force=True)
    assert outcome.forced
    assert phases() == {"GET": "legacy", "PUT": "legacy"}
    assert AuditRecord.objects.get(seq=outcome.audit_seq).action == "route.rollback.forced"
    assert Transition.objects.filter(action="rollback", forced=True).count() == 2


def test_it_goes_back_one_step_by_default_and_into_canary_at_the_smallest_weight():
    plan = migrated_plan()
    rollback(plan, "backlog_zero")
    state = RouteState.objects.get(method="GET")
    assert (state.phase, state.weight) == ("canary", 1)
    # writes have no canary in this plan: they go back to where they wait, shadow
    assert RouteState.objects.get(method="PUT").phase == "shadow"


def test_it_refuses_to_roll_forward():
    plan = make_plan()
    with pytest.raises(control_errors.ControlError, match="nothing to roll back"):
        rollback(plan, "backlog_zero")
    with pytest.raises(control_errors.ControlError, match="no selected route is after migrated"):
        rollback(plan, "backlog_zero", to="migrated")
