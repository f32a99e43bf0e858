"""Gates: the thresholds a route must meet to enter shadow, canary, migrated or retired.
Every bad value is refused at its line; legacy takes no gate (rollbacks are never blocked)."""

from __future__ import annotations

import pytest

from domain.phases import Phase
from domain.plans import Gate
from tests.migration_plans.plan_files import (
    GOOD,
    assert_located,
    errors_for,
    load_one,
    refused,
    write,
)


def gates(body: str) -> str:
    return GOOD + "gates:\n  canary:\n" + "".join(f"    {line}\n" for line in body.splitlines())


def test_an_empty_gate_checks_nothing(tmp_path):
    plan = load_one(tmp_path, GOOD + "gates:\n  canary: {}\n")
    assert plan.gates[Phase.CANARY] == Gate()


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("min_samples: 200", Gate(min_samples=200)),
        ("max_error_rate: 0", Gate(max_error_rate=0.0)),
        ("max_error_rate: 1", Gate(max_error_rate=1.0)),
        ("max_p99_ratio: 1.5", Gate(max_p99_ratio=1.5)),
        ("min_compared: 9\nmax_diff_rate: 0.001", Gate(min_compared=9, max_diff_rate=0.001)),
        ("min_compared: 500", Gate(min_compared=500)),
        ("max_sync_lag_seconds: 5", Gate(max_sync_lag_seconds=5.0)),
        ("max_drift_rows: 0", Gate(max_drift_rows=0)),
    ],
)
def test_each_threshold_is_read(tmp_path, line, expected):
    assert load_one(tmp_path, gates(line)).gates[Phase.CANARY] == expected


@pytest.mark.parametrize(
    ("line", "field", "complaint"),
    [
        ("min_samples: -1", "min_samples", "'-1' is out of range (0 to 1e+09)"),
        ("min_samples: 2.5", "min_samples", "expected a whole number, got float"),
        ("max_error_rate: 1.5", "max_error_rate", "'1.5' is out of range (0 to 1; a fraction)"),
        ("max_error_rate: -0.1", "max_error_rate", "out of range"),
        ("max_error_rate: 1%", "max_error_rate", "expected a number, got str"),
        ("max_p99_ratio: 0", "max_p99_ratio", "'0' is out of range (greater than 0, up to 100)"),
        ("max_diff_rate: 2", "max_diff_rate", "out of range (0 to 1; a fraction)"),
        ("min_compared: 0.5", "min_compared", "expected a whole number, got float"),
        ("min_compared: -3", "min_compared", "'-3' is out of range (0 to 1e+09)"),
        ("max_sync_lag_seconds: -5", "max_sync_lag_seconds", "out of range (0 to 86400 seconds)"),
        ("max_sync_lag_seconds: .inf", "max_sync_lag_seconds", "out of range"),
        ("max_drift_rows: -1", "max_drift_rows", "out of range"),
        ("max_drift_rows: ~", "max_drift_rows", "expected a whole number, got nothing (null)"),
        ("max_errors: 3", "max_errors", "unknown field (expected min_samples, max_error_rate"),
    ],
)
def test_a_bad_threshold_names_its_line_and_field(tmp_path, line, field, complaint):
    path, error = refused(tmp_path, gates(line))
    assert_located(error, path, 14, f"gates.canary.{field}", complaint)


@pytest.mark.parametrize("compared", ["", "min_compared: 0\n"])
def test_a_diff_rate_without_a_positive_min_compared_is_refused(tmp_path, compared):
    # One differing exchange would be a 100 % rate, one matching exchange 0 %.
    path, error = refused(tmp_path, gates(compared + "max_error_rate: 0.01\nmax_diff_rate: 0.02"))
    line = 14 + compared.count("\n") + 1
    assert_located(error, path, line, "gates.canary.max_diff_rate", "needs a positive min_compared")


def test_legacy_takes_no_gate(tmp_path):
    path, error = refused(tmp_path, GOOD + "gates:\n  legacy: {min_samples: 1}\n")
    assert_located(error, path, 13, "gates.legacy", "legacy takes no gate")
    assert "rollback" in error.message


def test_an_unknown_phase_is_refused(tmp_path):
    path, error = refused(tmp_path, GOOD + "gates:\n  production: {}\n")
    assert_located(
        error, path, 13, "gates.production", "unknown field (expected legacy, shadow, canary"
    )


def test_gates_must_be_a_mapping_of_mappings(tmp_path):
    path, error = refused(tmp_path, GOOD + "gates:\n  canary: strict\n")
    assert_located(error, path, 13, "gates.canary", "expected a mapping, got str")


def test_every_bad_threshold_is_reported(tmp_path):
    write(
        tmp_path,
        "appointments.yaml",
        gates("max_error_rate: 2\nmax_p99_ratio: -1\nmax_drift_rows: x"),
    )
    assert [e.field for e in errors_for(tmp_path)] == [
        "gates.canary.max_error_rate",
        "gates.canary.max_p99_ratio",
        "gates.canary.max_drift_rows",
    ]
