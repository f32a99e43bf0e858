"""migration_plans.autopilot: ticks against the real control-plane database, with the stats
rows proxy workers write; every automatic move audited with the actor autopilot."""

from __future__ import annotations

import dataclasses
import io
import threading
from datetime import timedelta
from functools import partial

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import F
from django.utils import timezone

from domain.plan_model import AllowedDifference, ContractSettings
from domain.plans import AutopilotSettings, Gate, PlanError, load_plans
from migration_plans import (
    autopilot,
    autopilot_controls,
    autopilot_worker,
    control_errors,
    selectors,
    services,
)
from migration_plans.autopilot_core import Kind
from migration_plans.models import AuditRecord, RouteState, RouteStats, Transition
from migration_plans.plan_cache import PlanCache
from tests.migration_plans.control import ONE, make_plan, record_stats, record_tally, tally_of
from tests.migration_plans.plan_files import appointments_plan

pytestmark = pytest.mark.django_db(databases=["default"])
HERE = "tests.migration_plans.test_autopilot"
PILOT = AutopilotSettings(
    interval_seconds=1, steps=(5, 50), dwell_seconds=60, min_samples=100, failure_threshold=3
)
GATES = {
    "canary": Gate(min_samples=100, max_error_rate=0.01, max_p99_ratio=2.0),
    "migrated": Gate(min_samples=100, max_error_rate=0.01),
}
SHADOWED = (("GET", ONE, "shadow"), ("PUT", ONE, "shadow"))


def backlog_three(feature):
    return {"reverse_backlog": 3}


def backlog_zero(feature):
    return {"reverse_backlog": 0}


def pilot_plan(settings=PILOT, **kwargs):
    kwargs.setdefault("routes", SHADOWED)
    return dataclasses.replace(make_plan(gates=GATES, **kwargs), autopilot=settings)


def traffic(*, errors=0, service_ms=10.0, requests=200):
    """One window of the GET route: the service's (or shadow's) answers and legacy's."""
    side = "shadow" if phase_of("GET")[0] == "shadow" else "service"
    record_stats(side=side, requests=requests, errors=errors, latency_ms=service_ms)
    record_stats(side="legacy", requests=requests, latency_ms=10.0)


def tick(plan, *, after=61, providers=()):
    """One tick, `after` seconds into the current step (the dwell is 60 s)."""
    later = timezone.now() + timedelta(seconds=after)
    return autopilot.tick(plans=[plan], feature=plan.feature, now=later, providers=providers)


def phase_of(method):
    state = RouteState.objects.filter(method=method).first()
    return (state.phase, state.weight) if state else ("shadow", 0)


def time_passes(seconds=60):
    """Age every stats window: the proxy's earlier windows fall before the current step."""
    RouteStats.objects.update(window_start=F("window_start") - timedelta(seconds=seconds))


def audit_ok():
    """`manage.py audit verify` passes over the whole chain."""
    out = io.StringIO()
    call_command("audit", "verify", stdout=out, stderr=io.StringIO())
    return out.getvalue().startswith("audit chain OK")


def test_a_healthy_service_goes_from_shadow_through_every_step_to_migrated():
    plan = pilot_plan()
    seen = []
    for _ in range(3):
        traffic()
        report = tick(plan)
        seen.append((report.decision.kind, phase_of("GET"), phase_of("PUT")))
    assert seen == [
        (Kind.ADVANCE, ("canary", 5), ("shadow", 0)),  # writes wait in shadow (no canary_writes)
        (Kind.ADVANCE, ("canary", 50), ("shadow", 0)),
        (Kind.ADVANCE, ("migrated", 0), ("migrated", 0)),
    ]
    assert tick(plan).decision.kind is Kind.DONE
    moves = AuditRecord.objects.filter(action="route.advance")
    assert [r.actor for r in moves] == ["autopilot"] * 3
    details = selectors.record_as_dict(moves.order_by("seq").reverse()[0])["details"]
    assert details["evidence"]["samples"] >= 100
    assert details["reason"].startswith("autopilot: canary 50% -> migrated")
    assert {g["gate"] for g in details["gates"]} >= {"min_samples", "max_error_rate"}
    assert set(Transition.objects.filter(action="advance").values_list("actor", flat=True)) == {
        "autopilot"
    }
    assert audit_ok()


COMPARED_GATES = {
    "canary": Gate(min_samples=100, max_error_rate=0.01, min_compared=100, max_diff_rate=0.02),
    "migrated": Gate(min_samples=100, max_error_rate=0.01, min_compared=100, max_diff_rate=0.02),
}


def compared_plan():
    """Canary and migrated gated on the shadow comparisons; the service spells the ward code
    in full by agreement (an accepted difference on the read route)."""
    ward = AllowedDifference(f"GET {ONE}", "ward code in full", "ticket CAB-9", "body.ward")
    return dataclasses.replace(
        make_plan(gates=COMPARED_GATES, routes=SHADOWED),
        autopilot=PILOT,
        contract=ContractSettings(differences=(ward,)),
    )


def test_the_autopilot_reads_the_shadow_comparisons_with_the_plans_accepted_differences():
    plan = compared_plan()
    # Every compared read differs in the accepted ward: a person's advance passes, and so must
    # the autopilot's (the plan's accepted differences, not the defaults).
    record_tally(tally_of(200, [(["body.ward"], 200)]))
    record_tally(tally_of(200), method="PUT")
    seen = []
    for _ in range(4):
        traffic()
        report = tick(plan)
        seen.append((report.decision.kind, phase_of("GET")))
    # Canary flows are not compared: every step after shadow reads the last shadow interval.
    assert seen == [
        (Kind.ADVANCE, ("canary", 5)),
        (Kind.ADVANCE, ("canary", 50)),
        (Kind.ADVANCE, ("migrated", 0)),
        (Kind.DONE, ("migrated", 0)),
    ]
    last = selectors.record_as_dict(
        AuditRecord.objects.filter(action="route.advance").order_by("-seq")[0]
    )["details"]
    assert last["evidence"]["comparisons"][f"GET {ONE}"] == {"compared": 200, "diff_rate": 0.0}


def test_writes_waiting_in_shadow_are_not_judged_by_the_canarys_comparison_gate():
    # Without canary writes the first step moves only the read: as `plan advance` judges a
    # move by its moving routes, the never-compared write does not hold it.
    plan = compared_plan()
    record_tally(tally_of(200))  # the read compared; the write never was
    traffic()
    report = tick(plan)
    assert (report.decision.kind, phase_of("GET"), phase_of("PUT")) == (
        Kind.ADVANCE,
        ("canary", 5),
        ("shadow", 0),
    )


def test_with_canary_writes_a_write_with_no_comparison_holds_the_canary():
    plan = dataclasses.replace(compared_plan(), canary_writes=True)
    record_tally(tally_of(200))
    traffic()
    report = tick(plan)
    assert report.decision.kind is Kind.HOLD
    assert f"PUT {ONE}" in report.decision.reason
    assert phase_of("GET") == ("shadow", 0)


def test_the_autopilot_holds_when_shadow_found_real_differences():
    plan = compared_plan()
    record_tally(tally_of(200, [(["body.name"], 20)]))  # 10 % real on the reads
    record_tally(tally_of(200), method="PUT")
    traffic()
    report = tick(plan)
    assert report.decision.kind is Kind.HOLD
    assert "max_diff_rate" in report.decision.reason
    assert phase_of("GET") == ("shadow", 0)


def test_no_data_holds_and_a_step_waits_for_its_dwell():
    plan = pilot_plan()
    report = tick(plan)
    assert report.decision.kind is Kind.HOLD
    assert "collecting samples at shadow: 0 of 100" in report.decision.reason
    traffic()
    assert "dwelling at shadow" in tick(plan, after=10).decision.reason
    assert phase_of("GET") == ("shadow", 0)
    assert not AuditRecord.objects.filter(actor="autopilot").exists()  # holds move nothing


def test_a_slow_service_is_held_not_promoted():
    plan = pilot_plan()
    traffic()
    tick(plan)  # into canary 5%
    for _ in range(5):
        traffic(service_ms=250.0)  # p99 far over 2 x legacy's
        report = tick(plan)
        assert report.decision.kind is Kind.HOLD
        assert "max_p99_ratio" in report.decision.reason
    assert phase_of("GET") == ("canary", 5)
    assert autopilot_controls.state_of(plan.feature)["locked"] is False


def test_an_erroring_service_is_rolled_back_after_the_threshold_and_locked():
    plan = pilot_plan()
    traffic()
    tick(plan)
    kinds = []
    for _ in range(3):
        traffic(errors=40)
        kinds.append(tick(plan).decision.kind)
    assert kinds == [Kind.HOLD, Kind.HOLD, Kind.ROLLBACK]
    assert phase_of("GET") == ("shadow", 0)
    rollback = AuditRecord.objects.get(action="route.rollback")
    assert rollback.actor == "autopilot"
    details = selectors.record_as_dict(rollback)["details"]
    assert "3 consecutive failed check(s)" in details["reason"]
    assert details["evidence"]["errors"] > 0  # what the decision judged, in the record
    lock = AuditRecord.objects.get(action="autopilot.lock")
    assert (lock.actor, lock.seq) == ("autopilot", rollback.seq + 1)
    # The lock holds: healthy numbers do not move a locked feature.
    traffic()
    assert tick(plan).decision.kind is Kind.LOCKED
    assert phase_of("GET") == ("shadow", 0)
    assert audit_ok()


def test_only_a_person_clears_the_lock_and_then_the_autopilot_acts_again():
    plan = pilot_plan()
    traffic()
    tick(plan)
    for _ in range(3):
        traffic(errors=40)
        tick(plan)
    with pytest.raises(control_errors.ControlError, match="a person acts here"):
        autopilot_controls.clear_lock(feature=plan.feature, actor="autopilot", reason="looks fine")
    with pytest.raises(control_errors.ControlError, match="reason is required"):
        autopilot_controls.clear_lock(feature=plan.feature, actor="operator-olga", reason=" ")
    autopilot_controls.clear_lock(
        feature=plan.feature, actor="operator-olga", reason="fix deployed"
    )
    cleared = AuditRecord.objects.get(action="autopilot.clear_lock")
    assert cleared.actor == "operator-olga"
    time_passes()
    traffic()
    assert tick(plan).decision.kind is Kind.ADVANCE
    assert phase_of("GET") == ("canary", 5)
    with pytest.raises(control_errors.ControlError, match="not locked"):
        autopilot_controls.clear_lock(feature=plan.feature, actor="operator-olga", reason="again")


def test_a_rollback_out_of_service_writes_waits_for_the_reverse_backlog_to_drain():
    plan = pilot_plan(settings=dataclasses.replace(PILOT, failure_threshold=1), canary_writes=True)
    traffic()
    tick(plan)
    assert phase_of("PUT") == ("canary", 5)  # the service owns some records' writes now
    traffic(errors=40)
    waiting = [f"{HERE}.backlog_three"]
    first = tick(plan, providers=waiting)
    assert first.decision.kind is Kind.HOLD
    assert "waiting for 3 reverse change(s) to drain" in first.decision.reason
    assert "before the routes leave canary 5%" in first.decision.reason
    assert AuditRecord.objects.get(seq=first.audit_seq).action == "autopilot.rollback.waiting"
    assert "waiting for 3" in tick(plan, providers=waiting).decision.reason
    assert AuditRecord.objects.filter(action="autopilot.rollback.waiting").count() == 1
    assert phase_of("PUT") == ("canary", 5)
    done = tick(plan, providers=[f"{HERE}.backlog_zero"])
    assert done.decision.kind is Kind.ROLLBACK
    assert phase_of("PUT") == ("shadow", 0)
    state = autopilot_controls.state_of(plan.feature)
    assert (state["locked"], state["rollback_pending"], state["failures"]) == (True, False, 0)
    assert audit_ok()


def test_a_refused_rollback_stays_pending_and_is_audited_not_mistaken_for_done(monkeypatch):
    plan = pilot_plan(settings=dataclasses.replace(PILOT, failure_threshold=1))
    traffic()
    tick(plan)
    assert phase_of("GET") == ("canary", 5)
    real_rollback = services.rollback

    def two_writers(**kwargs):
        # Stands in for _ownership_around's refusal, which the shipped rules never reach here.
        raise control_errors.ControlError("the write routes would disagree", status=409)

    monkeypatch.setattr(services, "rollback", two_writers)
    traffic(errors=40)
    first = tick(plan)
    assert first.decision.kind is Kind.HOLD
    assert "rollback refused at canary 5%: the write routes would disagree" in first.decision.reason
    assert AuditRecord.objects.get(seq=first.audit_seq).action == "autopilot.rollback.refused"
    state = autopilot_controls.state_of(plan.feature)
    assert (state["locked"], state["rollback_pending"]) == (False, True)  # still at canary
    assert "rollback refused" in tick(plan).decision.reason  # retried each tick
    assert AuditRecord.objects.filter(action="autopilot.rollback.refused").count() == 1
    assert not AuditRecord.objects.filter(action="autopilot.lock").exists()
    monkeypatch.setattr(services, "rollback", real_rollback)
    assert tick(plan).decision.kind is Kind.ROLLBACK
    assert phase_of("GET") == ("shadow", 0)
    assert autopilot_controls.state_of(plan.feature)["locked"]


def test_the_kill_switch_stops_every_tick_until_a_person_resumes():
    plan = pilot_plan()
    traffic()
    autopilot_controls.stop(feature=plan.feature, actor="operator-olga", reason="incident 7")
    assert tick(plan).decision.kind is Kind.STOPPED
    assert phase_of("GET") == ("shadow", 0)
    assert AuditRecord.objects.get(action="autopilot.stop").actor == "operator-olga"
    autopilot_controls.resume(
        feature=plan.feature, actor="operator-olga", reason="incident 7 closed"
    )
    assert tick(plan).decision.kind is Kind.ADVANCE


STOPPED_DURING: list[tuple[bool, list[Exception]]] = []


def operator_stops_now(feature):
    """An evidence provider during whose call an operator turns the kill switch on."""
    autopilot_controls.stop(feature=feature, actor="operator-olga", reason="incident 8")
    return {}


def operator_stops_from_another_connection(feature):
    """As above, from another thread and database connection, as `plan autopilot --stop` is."""
    failures = []

    def stop():
        try:
            autopilot_controls.stop(feature=feature, actor="operator-olga", reason="incident 9")
        except Exception as e:  # recorded for the test to show
            failures.append(e)
        finally:
            connection.close()

    person = threading.Thread(target=stop)
    person.start()
    person.join(timeout=60)
    STOPPED_DURING.append((person.is_alive(), failures))
    return {}


def test_a_kill_switch_turned_on_during_a_tick_wins_over_its_decision():
    plan = pilot_plan()
    traffic()
    report = tick(plan, providers=[f"{HERE}.operator_stops_now"])
    assert report.decision.kind is Kind.STOPPED
    assert phase_of("GET") == ("shadow", 0)
    assert not AuditRecord.objects.filter(actor="autopilot").exists()


@pytest.mark.django_db(transaction=True)
def test_stop_is_not_kept_waiting_for_a_running_ticks_lock():
    plan = pilot_plan()
    traffic()
    STOPPED_DURING.clear()
    report = tick(plan, providers=[f"{HERE}.operator_stops_from_another_connection"])
    assert STOPPED_DURING == [(False, [])]  # the stop committed while the tick was analysing
    assert report.decision.kind is Kind.STOPPED
    assert phase_of("GET") == ("shadow", 0)


def test_a_plan_without_the_section_is_refused():
    plan = make_plan(routes=SHADOWED)
    with pytest.raises(control_errors.ControlError, match="no autopilot: section"):
        tick(plan)


def test_a_feature_whose_routes_stand_apart_is_refused_not_reported_done():
    # As the shipped appointments plan starts: one read migrated, the rest still in legacy.
    plan = pilot_plan(routes=(("GET", ONE, "migrated"), ("PUT", ONE, "legacy")))
    with pytest.raises(control_errors.ControlError, match="stand apart") as refused:
        tick(plan)
    assert refused.value.status == 409
    assert f"PUT {ONE} (legacy)" in refused.value.reason
    assert not RouteState.objects.exclude(phase__in=["legacy", "migrated"]).exists()
    assert not AuditRecord.objects.filter(actor="autopilot").exists()


def test_a_route_lagging_behind_shadow_is_refused_rather_than_skipped_ahead():
    plan = pilot_plan(routes=(("GET", ONE, "shadow"), ("GET", "/api/appointments", "legacy")))
    traffic()
    with pytest.raises(control_errors.ControlError, match="GET /api/appointments \\(legacy\\)"):
        tick(plan)
    assert not Transition.objects.filter(action="advance").exists()


class Traffic:
    """The worker's stop signal: each wait is time passing, with traffic on the GET route."""

    def __init__(self, *, stop_after=None, kill_after=None, feature="appointments"):
        self.waits = 0
        self.offset = 0.0
        self.stop_after, self.kill_after, self.feature = stop_after, kill_after, feature

    def is_set(self):
        return self.stop_after is not None and self.waits >= self.stop_after

    def wait(self, timeout=None):
        self.waits += 1
        self.offset += timeout or 0
        if self.kill_after is not None and self.waits == self.kill_after:
            autopilot_controls.stop(feature=self.feature, actor="operator-olga", reason="pager")
        traffic()
        return self.is_set()

    def clock(self):
        return timezone.now() + timedelta(seconds=self.offset)


def run_worker(plan, signal, reports=None):
    return autopilot_worker.run_worker(
        plans=[plan],
        feature=plan.feature,
        stop_signal=signal,
        report=(reports if reports is not None else []).append,
        clock=signal.clock,
        providers=(),
    )


def test_the_worker_ticks_every_interval_until_the_target():
    plan = pilot_plan(settings=dataclasses.replace(PILOT, dwell_seconds=3))
    reports: list[autopilot.TickReport] = []
    assert run_worker(plan, Traffic(), reports) is Kind.DONE
    assert phase_of("GET") == ("migrated", 0)
    assert [r.decision.kind for r in reports].count(Kind.ADVANCE) == 3
    assert reports[-1].decision.kind is Kind.DONE


def test_the_worker_stops_at_once_on_the_kill_switch_and_on_sigterm():
    plan = pilot_plan()
    killed = Traffic(kill_after=1)
    assert (run_worker(plan, killed), killed.waits) == (Kind.STOPPED, 1)
    assert phase_of("GET") == ("shadow", 0)  # the tick after the switch acted on nothing
    autopilot_controls.resume(feature=plan.feature, actor="operator-olga", reason="back")
    term = Traffic(stop_after=1)
    assert (run_worker(plan, term), term.waits) == (Kind.STOPPED, 1)


def pilot_file(canary_samples):
    return appointments_plan(
        f"""\
  - method: GET
    path: {ONE}
    phase: shadow
""",
        f"""\
gates:
  canary: {{min_samples: {canary_samples}, max_error_rate: 0.01}}
  migrated: {{min_samples: 100, max_error_rate: 0.01}}
autopilot: {{interval_seconds: 1, steps: [5, 50], dwell_seconds: 3, min_samples: 100}}
""",
    )


class ReviewedChange(Traffic):
    """Once in canary, a reviewed change makes the canary gate unreachable."""

    def __init__(self, path, **kwargs):
        super().__init__(**kwargs)
        self.path, self.changed = path, False

    def wait(self, timeout=None):
        if not self.changed and phase_of("GET")[0] == "canary":
            self.path.write_text(pilot_file(10**9))
            self.changed = True
        return super().wait(timeout)


def work_from_files(cache, signal):
    """The worker as `plan autopilot --worker` runs it: plans asked of the cache each tick."""
    reports: list[autopilot.TickReport] = []
    autopilot_worker.run_worker(
        plans=cache.plans,
        feature="appointments",
        stop_signal=signal,
        report=reports.append,
        clock=signal.clock,
        providers=(),
    )
    return reports


def test_a_running_worker_applies_a_reviewed_change_to_the_gates(tmp_path):
    path = tmp_path / "appointments.yaml"
    path.write_text(pilot_file(100))
    cache = PlanCache(tmp_path, partial(load_plans, environ={}), environ={})
    signal = ReviewedChange(path, stop_after=12)
    reports = work_from_files(cache, signal)
    kinds = [r.decision.kind for r in reports]
    assert kinds.count(Kind.ADVANCE) == 1  # into canary 5 % on the first gates
    assert phase_of("GET") == ("canary", 5)  # held there by the new ones
    assert "min_samples" in reports[-1].decision.reason
    assert cache.generation == 2


def test_while_the_plan_files_are_broken_the_worker_does_not_tick(tmp_path):
    path = tmp_path / "appointments.yaml"
    path.write_text(pilot_file(100))
    cache = PlanCache(tmp_path, partial(load_plans, environ={}), environ={})
    path.write_text(pilot_file(100) + "gates: twice\n")
    with pytest.raises(PlanError):
        autopilot_worker.run_worker(
            plans=cache.plans, feature="appointments", stop_signal=Traffic(), report=print
        )
    path.write_text(pilot_file(100))
    assert work_from_files(cache, Traffic(stop_after=3))  # ticks again once fixed
