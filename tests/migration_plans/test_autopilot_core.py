"""autopilot_core.decide: the decision table of one analysis tick (pure, no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.phases import Phase
from domain.plans import AutopilotSettings, Gate
from migration_plans import gates
from migration_plans.autopilot_core import Check, Kind, Memory, Position, decide, next_step

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
PILOT = AutopilotSettings(steps=(5, 25, 50), dwell_seconds=300, min_samples=100)
GATE = Gate(min_samples=100, max_error_rate=0.01, max_p99_ratio=2.0)


def evidence(samples=200, errors=0, service_ms=10.0, legacy_ms=10.0, legacy_samples=200):
    return gates.Evidence(
        samples=samples,
        errors=errors,
        service_p99_ms=service_ms if samples else None,
        legacy_samples=legacy_samples,
        legacy_p99_ms=legacy_ms if legacy_samples else None,
    )


def tick(
    *,
    phase=Phase.CANARY,
    weight=5,
    stood=600,
    memory=Memory(),  # noqa: B008 - frozen
    settings=PILOT,
    **measured,
):
    seen = evidence(**measured)
    checks = [Check(Phase.CANARY, r) for r in gates.evaluate(GATE, seen)]
    position = Position(phase, weight, T0)
    now = T0 + timedelta(seconds=stood)
    return decide(settings, position, memory, checks=checks, samples=seen.samples, now=now)


def test_it_steps_through_the_canary_weights_then_to_the_target():
    shadow, five, fifty = (
        Position(p, w, T0) for p, w in ((Phase.SHADOW, 0), (Phase.CANARY, 5), (Phase.CANARY, 50))
    )
    assert next_step(PILOT, shadow) == (Phase.CANARY, 5)
    assert next_step(PILOT, five) == (Phase.CANARY, 25)
    assert next_step(PILOT, fifty) == (Phase.MIGRATED, None)
    assert next_step(PILOT, Position(Phase.MIGRATED, 0, T0)) is None
    only_canary = AutopilotSettings(target=Phase.CANARY)
    assert next_step(only_canary, fifty) is None


def test_a_healthy_step_advances_after_its_dwell():
    decision = tick()
    assert decision.kind is Kind.ADVANCE
    assert (decision.to_phase, decision.weight) == (Phase.CANARY, 25)
    assert "canary 5% -> canary 25%" in decision.reason


def test_no_data_holds_and_never_counts_as_a_pass_or_a_failure():
    decision = tick(samples=0, legacy_samples=0, memory=Memory(failures=2))
    assert decision.kind is Kind.HOLD
    assert "collecting samples at canary 5%: 0 of 100" in decision.reason
    assert decision.failures == 2  # unchanged: missing data is neither


def test_too_few_samples_hold_even_after_the_dwell():
    assert tick(samples=99, stood=10_000).kind is Kind.HOLD


def test_a_healthy_step_holds_until_it_has_stood_its_dwell():
    decision = tick(stood=120)
    assert decision.kind is Kind.HOLD
    assert "dwelling at canary 5%: 120 s of 300 s" in decision.reason


def test_an_unmeasured_check_is_inconclusive_and_holds():
    decision = tick(legacy_samples=0)  # no legacy baseline: no p99 ratio
    assert decision.kind is Kind.HOLD
    assert "max_p99_ratio: unavailable" in decision.reason


def test_a_slow_service_is_held_not_promoted_and_not_rolled_back():
    decision = tick(service_ms=80.0, memory=Memory(failures=0))
    assert decision.kind is Kind.HOLD
    assert "not promoted from canary 5%" in decision.reason
    assert "max_p99_ratio" in decision.reason
    assert decision.failures == 0


def test_failed_checks_count_and_roll_back_at_the_threshold():
    first = tick(errors=20)
    assert (first.kind, first.failures) == (Kind.HOLD, 1)
    assert "failed check 1 of 3" in first.reason
    second = tick(errors=20, memory=Memory(failures=first.failures))
    assert (second.kind, second.failures) == (Kind.HOLD, 2)
    third = tick(errors=20, memory=Memory(failures=second.failures))
    assert third.kind is Kind.ROLLBACK
    assert third.to_phase is Phase.SHADOW
    assert "3 consecutive failed check(s)" in third.reason
    assert "max_error_rate" in third.reason


def test_a_passing_check_resets_the_count():
    assert tick(memory=Memory(failures=2)).failures == 0


def test_failures_in_shadow_hold_there_is_nothing_to_roll_back_to():
    decision = tick(phase=Phase.SHADOW, weight=0, errors=50, memory=Memory(failures=5))
    assert decision.kind is Kind.HOLD
    assert decision.failures == 6
    assert "6 in a row, nothing to roll back to before shadow" in decision.reason


@pytest.mark.parametrize(
    ("memory", "kind"),
    [
        (Memory(stopped=True), Kind.STOPPED),
        (Memory(stopped=True, locked=True), Kind.STOPPED),
        (Memory(locked=True, lock_reason="errors"), Kind.LOCKED),
        (Memory(rollback_pending=True), Kind.ROLLBACK),
    ],
)
def test_the_kill_switch_and_the_lock_come_before_any_evidence(memory, kind):
    assert tick(memory=memory).kind is kind  # a healthy step that would otherwise advance


def test_legacy_routes_are_a_persons_to_start():
    decision = tick(phase=Phase.LEGACY, weight=0)
    assert decision.kind is Kind.HOLD
    assert "a person moves them to shadow" in decision.reason


def test_at_the_target_it_is_done():
    assert tick(phase=Phase.MIGRATED, weight=0).kind is Kind.DONE
    canary_only = AutopilotSettings(target=Phase.CANARY, steps=(5, 50))
    assert tick(weight=50, settings=canary_only).kind is Kind.DONE


def test_a_failure_on_a_non_rollback_check_can_be_made_to_count():
    strict = AutopilotSettings(rollback_on=("max_error_rate", "max_p99_ratio"), failure_threshold=1)
    assert tick(service_ms=80.0, settings=strict).kind is Kind.ROLLBACK
