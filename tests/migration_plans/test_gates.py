"""Gates against evidence: every threshold reported with its numbers; missing evidence fails."""

from __future__ import annotations

from domain import latency
from domain.plans import Gate
from migration_plans.gates import Evidence, evaluate, p99_of, passed


def buckets(**by_bound_ms):
    """Counts per bucket, given as {"b<bound>": count}; e.g. b10=5 puts 5 answers <= 10 ms."""
    counts = latency.empty_buckets()
    for name, count in by_bound_ms.items():
        counts[latency.BOUNDS_MS.index(float(name[1:]))] += count
    return counts


def by_name(results):
    return {r.name: r for r in results}


def test_it_passes_when_every_threshold_is_met_and_shows_the_numbers():
    gate = Gate(min_samples=100, max_error_rate=0.01, max_p99_ratio=1.5)
    evidence = Evidence(
        samples=200, errors=1, service_p99_ms=12.0, legacy_samples=300, legacy_p99_ms=10.0
    )
    results = by_name(evaluate(gate, evidence))
    assert passed(results.values())
    assert results["min_samples"].actual == 200
    assert results["max_error_rate"].actual == 0.005
    assert results["max_p99_ratio"].actual == 1.2
    assert results["max_p99_ratio"].reason == "1.2 <= 1.5"


def test_it_fails_each_gate_that_is_not_met_and_still_lists_all():
    gate = Gate(min_samples=100, max_error_rate=0.01, max_p99_ratio=1.5)
    evidence = Evidence(
        samples=50, errors=5, service_p99_ms=40.0, legacy_samples=50, legacy_p99_ms=10.0
    )
    results = by_name(evaluate(gate, evidence))
    assert not passed(results.values())
    assert [r.passed for r in results.values()] == [False, False, False]
    assert results["min_samples"].reason == "50 samples < 100"
    assert results["max_error_rate"].reason == "0.1 > 0.01"
    assert results["max_p99_ratio"].actual == 4.0


def test_it_fails_a_gate_whose_evidence_is_unavailable():
    gate = Gate(max_error_rate=0.01, max_p99_ratio=2.0, max_sync_lag_seconds=5, max_drift_rows=0)
    evidence = Evidence(
        samples=0,
        provided={"drift_rows": 0},
        unavailable={"sync_lag_seconds": "provider x failed (RuntimeError: down)"},
    )
    results = by_name(evaluate(gate, evidence))
    assert results["max_error_rate"].reason.startswith("unavailable: no samples")
    assert results["max_p99_ratio"].reason == "unavailable: no service samples with latency"
    assert results["max_sync_lag_seconds"].reason == (
        "unavailable: provider x failed (RuntimeError: down)"
    )
    assert results["max_drift_rows"].passed


def test_it_checks_nothing_for_an_undeclared_gate():
    assert evaluate(Gate(), Evidence()) == ()
    assert evaluate(None, Evidence()) == ()


def test_it_reads_p99_from_buckets_with_the_proxys_estimator():
    assert p99_of(latency.empty_buckets()) is None
    fast = p99_of(buckets(b10=100))
    slow = p99_of(buckets(b10=90, b400=10))
    assert fast is not None
    assert fast <= 10.0
    assert slow is not None
    assert 250.0 < slow <= 400.0
    evidence = Evidence(samples=100, service_p99_ms=slow, legacy_samples=100, legacy_p99_ms=fast)
    assert not passed(evaluate(Gate(max_p99_ratio=2.0), evidence))


def test_it_makes_a_json_safe_snapshot():
    snapshot = Evidence(samples=10, errors=1, provided={"reverse_backlog": 3}).snapshot()
    assert snapshot["error_rate"] == 0.1
    assert snapshot["reverse_backlog"] == 3
    assert snapshot["diff_rate"] is None


def test_it_needs_enough_compared_exchanges_before_trusting_the_diff_rate():
    gate = Gate(min_compared=500, max_diff_rate=0.001)
    few = by_name(evaluate(gate, Evidence(provided={"compared": 120, "diff_rate": 0.0})))
    assert few["min_compared"].reason == "120 exchanges compared < 500"
    assert few["max_diff_rate"].passed
    enough = by_name(evaluate(gate, Evidence(provided={"compared": 900, "diff_rate": 0.002})))
    assert enough["min_compared"].passed
    assert enough["max_diff_rate"].reason == "0.002 > 0.001"


def test_it_leaves_the_comparison_thresholds_to_the_move_out_of_shadow():
    # Only shadow compares answers: from canary on, the step has none of its own to judge.
    gate = Gate(min_samples=10, min_compared=50, max_diff_rate=0.0)
    results = by_name(evaluate(gate, Evidence(samples=20), past_shadow=True))
    assert list(results) == ["min_samples"]
    assert results["min_samples"].passed


def test_it_fails_min_compared_when_no_provider_reports_comparisons():
    results = by_name(evaluate(Gate(min_compared=1), Evidence(samples=10)))
    assert results["min_compared"].reason == "unavailable: no evidence provider reports compared"
    assert not results["min_compared"].passed
