"""A plan with every field set parses into the dataclasses the proxy and control plane read;
a minimal plan gets the documented defaults."""

from __future__ import annotations

from domain.phases import Phase
from domain.plans import (
    GATED_PHASES,
    AllowedDifference,
    CohortKey,
    CohortKind,
    ContractSettings,
    Gate,
    HealthCheck,
    NonOwnerWrites,
    ShadowSettings,
    SyncSettings,
    TrailingSlash,
    VolatileField,
)
from tests.migration_plans.plan_files import FULL, GOOD, load_one


def test_it_reads_every_field(tmp_path):
    plan = load_one(tmp_path, FULL)
    assert plan.upstream.health == HealthCheck("/healthz", 5.0, 0.5, 3, 2)
    assert plan.cohort == CohortKey(CohortKind.PATH, "id")
    assert plan.data_owner == CohortKey(CohortKind.PATH, "id")
    assert plan.canary_writes is True
    assert plan.trailing_slash is TrailingSlash.MATCH
    assert plan.allow_path_params is True
    assert [(r.method, r.path, r.phase) for r in plan.routes] == [
        ("GET", "/api/appointments", Phase.LEGACY),
        ("GET", "/api/appointments/{id:int}", Phase.CANARY),
        ("PUT", "/api/appointments/{id:int}", Phase.SHADOW),
    ]
    assert plan.gates[Phase.SHADOW] == Gate(max_sync_lag_seconds=5)
    assert plan.gates[Phase.CANARY] == Gate(
        min_samples=200,
        max_error_rate=0.01,
        max_p99_ratio=1.5,
        min_compared=500,
        max_diff_rate=0.02,
    )
    assert plan.gates[Phase.MIGRATED] == Gate(
        min_samples=1000, max_sync_lag_seconds=5, max_drift_rows=0
    )
    assert plan.gates[Phase.RETIRED] == Gate()
    assert plan.shadow == ShadowSettings(25.0, 1.5, 8, True)
    assert plan.contract == ContractSettings(
        (VolatileField("UPD_TS", "stamped by the writer's clock"),),
        (
            AllowedDifference(
                "PUT /api/appointments/{id:int}", "201 instead of 200", "ticket CAB-7"
            ),
        ),
    )
    difference = plan.contract.differences[0]
    assert (difference.method, difference.template) == ("PUT", "/api/appointments/{id:int}")
    assert plan.contract.volatile_names == frozenset({"UPD_TS"})
    assert plan.sync == SyncSettings(NonOwnerWrites.OWNER_WINS)


def test_it_gives_a_minimal_plan_the_documented_defaults(tmp_path):
    plan = load_one(tmp_path, GOOD)
    assert plan.upstream.health == HealthCheck("/__ficus/health", 2.0, 1.0, 2, 1)
    assert plan.cohort == CohortKey(CohortKind.SESSION, None)
    assert plan.data_owner is None
    assert plan.canary_writes is False
    assert plan.trailing_slash == "strict"
    assert plan.allow_path_params is False
    assert plan.shadow == ShadowSettings(100.0, 2.0, 64, False)
    assert plan.contract == ContractSettings((), ())
    assert plan.sync.non_owner_writes is NonOwnerWrites.NEWER_WINS
    assert set(plan.gates) == set(GATED_PHASES)
    assert all(gate == Gate() for gate in plan.gates.values())


def test_a_route_without_a_phase_starts_in_legacy(tmp_path):
    plan = load_one(tmp_path, GOOD.replace("    phase: migrated\n", ""))
    assert plan.routes[0].phase is Phase.LEGACY


def test_gate_thresholds_lists_only_what_is_checked(tmp_path):
    plan = load_one(tmp_path, FULL)
    assert plan.gates[Phase.MIGRATED].thresholds() == {
        "min_samples": 1000,
        "max_sync_lag_seconds": 5,
        "max_drift_rows": 0,
    }
    assert plan.gates[Phase.RETIRED].thresholds() == {}


def test_a_parsed_plan_is_immutable_and_hashable(tmp_path):
    plan = load_one(tmp_path, FULL)
    try:
        plan.gates[Phase.CANARY] = Gate()  # type: ignore[index]
    except TypeError:
        pass
    else:
        raise AssertionError("gates must be read-only")
    assert hash(plan) == hash(load_one(tmp_path, FULL))
