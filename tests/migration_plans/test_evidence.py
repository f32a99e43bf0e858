"""Shadow evidence for the gates: the tallies since the phase began, judged by Diffy's rule
with the plan's thresholds; no comparisons means the diff rate is unavailable, never 0."""

from __future__ import annotations

import pytest
from django.db import connection

from domain.plans import load_plans
from migration_plans import evidence, selectors, services
from migration_plans.control_errors import GateRefusalError
from tests.migration_plans.control import backdate, record_stats, record_tally, tally_of
from tests.migration_plans.plan_files import appointments_plan

pytestmark = pytest.mark.django_db(databases=["default"])
ONE = "/api/appointments/{id:int}"
PLAN = appointments_plan(
    """\
  - method: GET
    path: /api/appointments/{id:int}
    phase: shadow
""",
    """\
gates:
  canary: {min_compared: 100, max_diff_rate: 0.02}
contract:
  differences:
    - route: GET /api/appointments/{id:int}
      what: the service spells the ward code in full
      reason: ticket CAB-9
      path: body.ward
""",
)


def registered(directory, text):
    """The plan written, read and registered, its routes in their phase for a minute."""
    (directory / "appointments.yaml").write_text(text)
    found = load_plans(directory, environ={})
    services.register_routes(plans=found)
    backdate(60)
    return found


@pytest.fixture
def plans(tmp_path):
    return registered(tmp_path, PLAN)


def advance(plans):
    return services.advance(
        plans=plans, feature="appointments", weight=10, reason="r", actor="olga", providers=[]
    )


def gates_of(refusal):
    return {r["gate"]: r for r in refusal.value.results}


def test_without_comparisons_the_diff_rate_is_unavailable_and_the_gate_fails(plans):
    record_stats(side="shadow", requests=500)  # copies answered, but nothing compared
    with pytest.raises(GateRefusalError) as refused:
        advance(plans)
    gates = gates_of(refused)
    assert gates["max_diff_rate"]["actual"] is None
    assert "no shadow exchanges compared" in gates["max_diff_rate"]["reason"]
    assert (gates["min_compared"]["actual"], gates["min_compared"]["passed"]) == (0, False)


def test_a_real_difference_counts_against_the_gate(plans):
    record_tally(tally_of(200, [(["body.name"], 10)]))
    with pytest.raises(GateRefusalError) as refused:
        advance(plans)
    gates = gates_of(refused)
    assert gates["max_diff_rate"]["actual"] == 0.05
    assert gates["min_compared"]["passed"]


def test_noise_and_accepted_differences_are_taken_out_and_the_advance_passes(plans):
    # served_at differs as often between legacy's own two answers as against the service.
    record_tally(
        tally_of(
            150,
            [(["body.served_at"], 150), (["body.ward"], 30)],
            noise_compared=150,
            noisy=[(["body.served_at"], 150)],
        ),
        worker="w1",
    )
    record_tally(tally_of(50), worker="w2")
    outcome = advance(plans)
    assert outcome.evidence["compared"] == 200
    assert outcome.evidence["diff_rate"] == 0


def test_windows_from_before_the_phase_began_do_not_count(plans):
    record_tally(tally_of(100, [(["body.name"], 100)]), ago=3600)
    (state,) = selectors.states("appointments")
    values = evidence.gate_values(
        "appointments", [(state.method, state.template, state.since)], plans[0]
    )
    assert (values.compared, values.diff_rate) == (0, None)


TWO_ROUTES = appointments_plan(
    """\
  - method: GET
    path: /api/appointments/{id:int}
    phase: shadow
  - method: GET
    path: /api/appointments
    phase: shadow
""",
    """\
gates:
  canary: {min_compared: 100, max_diff_rate: 0.02}
""",
)


@pytest.fixture
def two_routes(tmp_path):
    return registered(tmp_path, TWO_ROUTES)


def test_a_shadowed_route_does_not_vouch_for_one_never_compared(two_routes):
    # Only one read was sampled (say, sample_percent 0 on the list): the other has no comparisons.
    record_tally(tally_of(500))
    with pytest.raises(GateRefusalError) as refused:
        advance(two_routes)
    gates = gates_of(refused)
    assert gates["min_compared"]["actual"] == 0
    assert "(GET /api/appointments)" in gates["min_compared"]["reason"]
    assert gates["max_diff_rate"]["actual"] is None
    assert "for GET /api/appointments in" in gates["max_diff_rate"]["reason"]
    # The auditor sees each route's own numbers in the evidence of the refusal.
    assert refused.value.evidence["comparisons"] == {
        "GET /api/appointments/{id:int}": {"compared": 500, "diff_rate": 0.0},
        "GET /api/appointments": {"compared": 0, "diff_rate": None},
    }


def test_each_route_is_held_to_the_rate_on_its_own(two_routes):
    record_tally(tally_of(900))
    record_tally(tally_of(100, [(["body.ward"], 5)]), template="/api/appointments")  # 5 %
    with pytest.raises(GateRefusalError) as refused:
        advance(two_routes)
    rate = gates_of(refused)["max_diff_rate"]
    assert rate["actual"] == 0.05  # not 0.5 % summed over both routes
    assert "(GET /api/appointments)" in rate["reason"]


def test_canary_weight_raises_are_judged_on_the_last_shadow_interval(plans):
    record_tally(tally_of(200))
    advance(plans)  # shadow -> canary 10 %, on 200 clean comparisons
    # A window after shadow ended (canary flows are not compared): not the shadow's evidence.
    record_tally(tally_of(50, [(["body.name"], 50)]), ago=-30)
    outcome = services.advance(
        plans=plans, feature="appointments", weight=50, reason="r", actor="olga", providers=[]
    )
    assert (outcome.evidence["compared"], outcome.evidence["diff_rate"]) == (200, 0.0)
    assert {r["gate"] for r in outcome.gate_results if r["passed"]} == {
        "min_compared",
        "max_diff_rate",
    }


def test_a_route_back_in_legacy_has_no_shadow_evidence(plans):
    record_tally(tally_of(200))
    services.rollback(
        plans=plans, feature="appointments", to="legacy", reason="r", actor="olga", providers=[]
    )
    (state,) = selectors.states("appointments")
    values = evidence.gate_values(
        "appointments", [(state.method, state.template, state.since)], plans[0]
    )
    assert (values.compared, values.diff_rate) == (0, None)


def test_a_routes_windows_are_read_through_their_own_index():
    with connection.cursor() as cursor:
        found = connection.introspection.get_constraints(cursor, "ficus_evidence_tally")
    indexed = [c["columns"] for c in found.values() if c["index"]]
    assert ["feature", "method", "template", "window_start"] in indexed


def test_plan_evidence_shows_a_canary_route_the_shadow_interval_its_gates_read(plans):
    record_tally(tally_of(200))
    advance(plans)
    record_tally(tally_of(50, [(["body.name"], 50)]), ago=-30)  # after shadow ended
    (state,) = selectors.states("appointments")
    shown = evidence.route_evidence("appointments", state.method, state.template, state.since, None)
    assert shown.assessment.compared == 200
    assert shown.until == state.since  # shadow ended when the canary began
