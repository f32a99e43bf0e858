"""The shipped plans say what contract C1 promises: appointments may canary its writes by
appointment id, patients canaries reads by patient id only, and both gate every phase."""

from __future__ import annotations

import pytest

from domain.phases import Phase
from domain.plans import CohortKey, CohortKind, Plan, load_plans
from tests.migration_plans.plan_files import SHIPPED

BY_ID = CohortKey(CohortKind.PATH, "id")


@pytest.fixture(scope="module")
def shipped() -> dict[str, Plan]:
    return {plan.feature: plan for plan in load_plans(SHIPPED, environ={})}


def test_appointments_canaries_reads_and_writes_by_appointment(shipped):
    plan = shipped["appointments"]
    assert (plan.cohort, plan.data_owner, plan.canary_writes) == (BY_ID, BY_ID, True)
    assert (plan.trailing_slash, plan.allow_path_params) == ("strict", False)
    assert plan.shadow.include_writes is True


def test_patients_declares_its_routes_upstream_and_table(shipped):
    plan = shipped["patients"]
    assert [(r.method, r.path, r.phase) for r in plan.routes] == [
        ("GET", "/api/patients", Phase.MIGRATED),
        ("GET", "/api/patients/{id:int}", Phase.MIGRATED),
        ("PUT", "/api/patients/{id:int}", Phase.LEGACY),
    ]
    assert (plan.upstream.name, plan.upstream.instances) == ("patients", ("http://127.0.0.1:8102",))
    assert plan.legacy_tables == ("PATIENT_MASTER",)
    assert (plan.cohort, plan.data_owner, plan.canary_writes) == (BY_ID, BY_ID, False)


@pytest.mark.parametrize("feature", ["appointments", "patients"])
def test_each_shipped_plan_gates_every_phase_it_can_enter(shipped, feature):
    gates = shipped[feature].gates
    canary, migrated, retired = gates[Phase.CANARY], gates[Phase.MIGRATED], gates[Phase.RETIRED]
    assert (canary.min_samples, canary.max_error_rate, canary.max_p99_ratio) == (200, 0.01, 1.5)
    assert gates[Phase.SHADOW].max_sync_lag_seconds == 5
    assert (migrated.max_sync_lag_seconds, migrated.max_drift_rows) == (5, 0)
    assert retired.max_drift_rows == 0
    # Stricter as the route moves on: the service takes more traffic at each step.
    assert canary.min_samples < migrated.min_samples < retired.min_samples
    assert canary.max_error_rate > migrated.max_error_rate > retired.max_error_rate


@pytest.mark.parametrize("feature", ["appointments", "patients"])
def test_each_shipped_plan_ignores_the_last_writers_timestamp(shipped, feature):
    (volatile,) = shipped[feature].contract.volatile_fields
    assert volatile.field == "UPD_TS"
    assert volatile.reason
