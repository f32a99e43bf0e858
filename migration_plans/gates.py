"""Gates: does the evidence allow entering a phase? Pure, and every number is shown.

A plan gives, per phase, the thresholds to *enter* it (`plan.gates[phase]`, contract C1). This
module compares them with an `Evidence` and returns one `GateResult` per threshold, passed or
not, with the threshold, the measured value and a reason. A refused advance prints all of them,
so an operator sees what is missing, not just that something is.

An unavailable value (no samples, a provider that failed) fails any gate that checks it: a gate
never passes on missing evidence. Latency comes as bucket counts (the proxy's histogram, bounds
in `domain.latency.BOUNDS_MS`), and p99 is read back with the proxy's own estimator
(`domain.latency.p99_ms`, pure), so the proxy and the gates never disagree about a number.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

from domain import latency

# Evidence keys that come from providers (contract C3) rather than from the proxy's stats.
# `compared` and `diff_rate` come from one provider, the shadow comparisons' tallies: the
# exchanges compared, and those with a real difference (after noise) over them.
PROVIDED_KEYS: Final = (
    "sync_lag_seconds",
    "drift_rows",
    "reverse_backlog",
    "diff_rate",
    "compared",
)


class GateLike(Protocol):
    """The fields of `domain.plans.Gate` (contract C1) that gates read."""

    @property
    def min_samples(self) -> int: ...
    @property
    def min_compared(self) -> int: ...
    @property
    def max_error_rate(self) -> float | None: ...
    @property
    def max_p99_ratio(self) -> float | None: ...
    @property
    def max_diff_rate(self) -> float | None: ...
    @property
    def max_sync_lag_seconds(self) -> float | None: ...
    @property
    def max_drift_rows(self) -> int | None: ...


@dataclass(frozen=True, slots=True)
class Evidence:
    """What the control plane knows about the routes being moved, since their phase began."""

    samples: int = 0  # requests answered by the new service (or its shadow copies)
    errors: int = 0
    service_p99_ms: float | None = None
    legacy_samples: int = 0
    legacy_p99_ms: float | None = None
    # Provider values (C3 keys); a key in `unavailable` has no value, with the reason.
    provided: Mapping[str, float | int | None] = field(default_factory=dict)
    unavailable: Mapping[str, str] = field(default_factory=dict)

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.samples if self.samples else None

    @property
    def p99_ratio(self) -> float | None:
        if self.service_p99_ms is None or not self.legacy_p99_ms:
            return None
        return self.service_p99_ms / self.legacy_p99_ms

    def value(self, key: str) -> float | int | None:
        return None if key in self.unavailable else self.provided.get(key)

    def why_missing(self, key: str) -> str:
        return self.unavailable.get(key) or f"no evidence provider reports {key}"

    def snapshot(self) -> dict[str, Any]:
        """A JSON-safe picture of the evidence, for the transition history and the audit log."""
        return {
            "samples": self.samples,
            "errors": self.errors,
            "error_rate": _json_number(self.error_rate),
            "service_p99_ms": _json_number(self.service_p99_ms),
            "legacy_samples": self.legacy_samples,
            "legacy_p99_ms": _json_number(self.legacy_p99_ms),
            "p99_ratio": _json_number(self.p99_ratio),
            **{key: _json_number(self.value(key)) for key in PROVIDED_KEYS},
            "unavailable": dict(sorted(self.unavailable.items())),
        }


@dataclass(frozen=True, slots=True)
class GateResult:
    name: str
    threshold: float | int
    actual: float | int | None
    passed: bool
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "gate": self.name,
            "threshold": _json_number(self.threshold),
            "actual": _json_number(self.actual),
            "passed": self.passed,
            "reason": self.reason,
        }


def evaluate(
    gate: GateLike | None, evidence: Evidence, *, past_shadow: bool = False
) -> tuple[GateResult, ...]:
    """Every threshold the gate sets, checked against the evidence. No gate: nothing to check.

    Only `shadow` compares answers, so the comparison thresholds (`min_compared`,
    `max_diff_rate`) judge the move out of shadow. A move that starts `past_shadow` (from one
    canary weight to the next, or on to migrated) has no comparisons of its own: they were
    judged when the routes left shadow, and are not checked again.
    """
    if gate is None:
        return ()
    results: list[GateResult] = []
    if gate.min_samples > 0:  # 0 is the "not checked" default of an undeclared gate
        results.append(_at_least("min_samples", gate.min_samples, evidence.samples, "samples"))
    if gate.min_compared > 0 and not past_shadow:
        compared = evidence.value("compared")
        if compared is None:
            missing = f"unavailable: {evidence.why_missing('compared')}"
            results.append(GateResult("min_compared", gate.min_compared, None, False, missing))
        else:
            results.append(
                _at_least("min_compared", gate.min_compared, int(compared), "exchanges compared")
            )
    if gate.max_error_rate is not None:
        results.append(
            _at_most(
                "max_error_rate",
                gate.max_error_rate,
                evidence.error_rate,
                "no samples to compute an error rate from",
            )
        )
    if gate.max_p99_ratio is not None:
        missing = (
            "no service samples with latency"
            if evidence.service_p99_ms is None
            else "no legacy samples to compare latency with"
        )
        results.append(_at_most("max_p99_ratio", gate.max_p99_ratio, evidence.p99_ratio, missing))
    for name, key, threshold in (
        ("max_diff_rate", "diff_rate", None if past_shadow else gate.max_diff_rate),
        ("max_sync_lag_seconds", "sync_lag_seconds", gate.max_sync_lag_seconds),
        ("max_drift_rows", "drift_rows", gate.max_drift_rows),
    ):
        if threshold is not None:
            results.append(
                _at_most(name, threshold, evidence.value(key), evidence.why_missing(key))
            )
    return tuple(results)


def passed(results: Sequence[GateResult]) -> bool:
    return all(r.passed for r in results)


def _at_least(name: str, threshold: int, actual: int, unit: str) -> GateResult:
    ok = actual >= threshold
    relation = ">=" if ok else "<"
    return GateResult(name, threshold, actual, ok, f"{actual} {unit} {relation} {threshold}")


def _at_most(
    name: str, threshold: float | int, actual: float | int | None, missing: str
) -> GateResult:
    if actual is None:
        return GateResult(name, threshold, None, False, f"unavailable: {missing}")
    ok = actual <= threshold
    relation = "<=" if ok else ">"
    return GateResult(name, threshold, actual, ok, f"{_show(actual)} {relation} {threshold:g}")


def p99_of(counts: Sequence[int]) -> float | None:
    """p99 (ms) of summed bucket counts, with the proxy's own estimator and bounds."""
    return latency.p99_ms(counts)


def _show(value: float | int) -> str:
    if isinstance(value, float) and math.isinf(value):
        return "inf"
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _json_number(value: float | int | None) -> float | int | str | None:
    # JSON has no infinity; "inf" keeps the meaning in snapshots and API answers.
    if isinstance(value, float) and not math.isfinite(value):
        return "inf"
    return value
