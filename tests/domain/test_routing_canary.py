"""Canary by cohort: consistent hashing, monotone weights, and which requests take part."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from domain.phases import BUCKETS, Phase, cohort_bucket, in_canary
from domain.routes import LEGACY_UPSTREAM, Reason, RequestInfo, Route
from domain.routing import RouteTable, decide, should_fall_back

ROOT = Path(__file__).resolve().parents[2]
COHORTS = [f"session-{i:05d}" for i in range(10_000)]


def canary(weight, *, method="GET", template="/api/charts/{id:int}", **extra) -> Route:
    return Route("charts", method, template, "charts", Phase.CANARY, weight=weight, **extra)


def cohort_of(value, kind="session", name=""):
    def lookup(k, n):
        return value if (k, n) == (kind, name) else None

    return lookup


def test_it_puts_the_same_cohort_on_the_same_side_in_another_process():
    sample = COHORTS[:200]
    code = (
        "import sys, json; from domain.routing import cohort_bucket; "
        "print(json.dumps([cohort_bucket('charts', v) for v in sys.argv[1:]]))"
    )
    # A different hash seed: Python's own hash() would give other buckets here.
    result = subprocess.run(
        [sys.executable, "-c", code, *sample],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={"PYTHONHASHSEED": "12345", "PYTHONPATH": str(ROOT)},
    )
    assert result.stdout.strip() == str([cohort_bucket("charts", v) for v in sample]).replace(
        "'", '"'
    )


def test_it_only_ever_moves_cohorts_from_legacy_to_the_service_as_the_weight_rises():
    buckets = [cohort_bucket("charts", v) for v in COHORTS]
    previous: set[int] = set()
    for weight in range(101):
        on_service = {i for i, b in enumerate(buckets) if in_canary(b, weight)}
        assert previous <= on_service, weight  # nobody moves back
        previous = on_service
    assert previous == set(range(len(COHORTS)))  # 100% is everyone


def test_it_spreads_cohorts_close_to_the_weight():
    buckets = [cohort_bucket("charts", v) for v in COHORTS]
    assert all(0 <= b < BUCKETS for b in buckets)
    for weight in (1, 5, 10, 25, 50, 75, 90):
        share = sum(in_canary(b, weight) for b in buckets) / len(buckets)
        # 10,000 cohorts: a binomial standard deviation is at most 0.5 percentage points.
        assert abs(share - weight / 100) < 0.02, (weight, share)


def test_it_hashes_per_feature_so_features_canary_independently():
    a = [cohort_bucket("charts", v) for v in COHORTS[:1000]]
    b = [cohort_bucket("appointments", v) for v in COHORTS[:1000]]
    assert sum(x == y for x, y in zip(a, b, strict=True)) < 10


def test_a_clinician_stays_on_one_side_for_every_route_of_the_feature():
    table = RouteTable.build([canary(50), canary(50, template="/api/charts/{id:int}/notes")])
    for value in COHORTS[:300]:
        sides = {
            decide(RequestInfo("GET", path, cohort=cohort_of(value)), table).upstream
            for path in ("/api/charts/1", "/api/charts/2", "/api/charts/3/notes")
        }
        assert len(sides) == 1


def test_the_weight_decides_by_bucket():
    table = RouteTable.build([canary(30)])
    for value in COHORTS[:500]:
        decision = decide(RequestInfo("GET", "/api/charts/1", cohort=cohort_of(value)), table)
        expected = "charts" if cohort_bucket("charts", value) < 3000 else LEGACY_UPSTREAM
        assert (decision.upstream, decision.reason) == (expected, Reason.COHORT)


def test_a_request_without_a_cohort_value_goes_to_legacy():
    table = RouteTable.build([canary(99)])
    for info in (
        RequestInfo("GET", "/api/charts/1"),
        RequestInfo("GET", "/api/charts/1", cohort=cohort_of(None)),
        RequestInfo("GET", "/api/charts/1", cohort=cohort_of("")),
    ):
        decision = decide(info, table)
        assert (decision.upstream, decision.reason) == (LEGACY_UPSTREAM, Reason.NO_COHORT)


def test_weight_zero_is_legacy_and_weight_100_is_the_service_even_without_a_cohort():
    assert decide(RequestInfo("GET", "/api/charts/1"), RouteTable.build([canary(0)])).to_legacy
    full = decide(RequestInfo("GET", "/api/charts/1"), RouteTable.build([canary(100)]))
    assert full.upstream == "charts"


def test_writes_join_the_canary_only_when_the_plan_says_canary_writes():
    value = next(v for v in COHORTS if cohort_bucket("charts", v) < 5000)
    info = RequestInfo("PUT", "/api/charts/1", cohort=cohort_of(value))
    assert decide(info, RouteTable.build([canary(50, method="PUT")])).to_legacy
    writes = RouteTable.build([canary(50, method="PUT", canary_writes=True)])
    assert decide(info, writes).upstream == "charts"


def test_a_path_cohort_is_the_matched_parameter():
    table = RouteTable.build([canary(50, cohort=("path", "id"))])
    for record in range(1, 300):
        decision = decide(RequestInfo("GET", f"/api/charts/{record}"), table)
        side = cohort_bucket("charts", str(record)) < 5000
        assert decision.to_legacy is not side


@pytest.mark.parametrize(
    ("kind", "name"), [("header", "x-ward"), ("cookie", "WARD"), ("query", "ward")]
)
def test_other_cohort_keys_are_looked_up_by_kind_and_name(kind, name):
    table = RouteTable.build([canary(50, cohort=(kind, name))])
    value = next(v for v in COHORTS if cohort_bucket("charts", v) < 5000)
    right = RequestInfo("GET", "/api/charts/1", cohort=cohort_of(value, kind, name))
    wrong = RequestInfo("GET", "/api/charts/1", cohort=cohort_of(value, "session", ""))
    assert decide(right, table).upstream == "charts"
    assert decide(wrong, table).reason is Reason.NO_COHORT


def test_a_pinned_session_reads_from_legacy_even_on_the_service_side():
    value = next(v for v in COHORTS if cohort_bucket("charts", v) < 5000)
    info = RequestInfo("GET", "/api/charts/1", frozenset({"charts"}), cohort_of(value))
    decision = decide(info, RouteTable.build([canary(50)]))
    assert (decision.upstream, decision.reason) == (LEGACY_UPSTREAM, Reason.PINNED)


def test_a_canary_read_the_service_fails_may_fall_back_to_legacy():
    value = next(v for v in COHORTS if cohort_bucket("charts", v) < 5000)
    decision = decide(
        RequestInfo("GET", "/api/charts/1", cohort=cohort_of(value)), RouteTable.build([canary(50)])
    )
    assert should_fall_back(decision, 503)
    assert not should_fall_back(decision, 200)
