"""Evidence from the proxy's stats: summed over workers, only since the phase began."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from migration_plans import selectors
from migration_plans.models import RouteStats
from tests.migration_plans.control import ONE, record_stats

pytestmark = pytest.mark.django_db(databases=["default"])


def test_it_sums_every_worker_and_side_of_the_moving_routes_since_the_phase_began():
    since = timezone.now() - timedelta(seconds=60)
    record_stats(side="shadow", requests=100, errors=1, worker="w1", latency_ms=12)
    record_stats(side="shadow", requests=50, errors=2, worker="w2", latency_ms=12)
    record_stats(side="legacy", requests=80, worker="w1", latency_ms=6)
    record_stats(side="shadow", requests=999, errors=999, ago=300)  # before the phase began
    record_stats(side="shadow", requests=999, method="PUT")  # another route
    record_stats(side="shadow", requests=999, feature="patients")  # another feature
    evidence = selectors.evidence("appointments", [("GET", ONE, since)], providers=[])
    assert (evidence.samples, evidence.errors, evidence.legacy_samples) == (150, 3, 80)
    assert evidence.error_rate == 0.02
    assert evidence.service_p99_ms is not None
    assert evidence.legacy_p99_ms is not None
    assert evidence.service_p99_ms > evidence.legacy_p99_ms


def test_it_counts_a_row_with_unreadable_buckets_but_not_its_latency():
    since = timezone.now() - timedelta(seconds=60)
    record_stats(side="service", requests=10)
    RouteStats.objects.update(latency_buckets="[1, 2]")
    evidence = selectors.evidence("appointments", [("GET", ONE, since)], providers=[])
    assert evidence.samples == 10
    assert evidence.service_p99_ms is None


def test_it_reports_provider_values_and_failures():
    here = "tests.migration_plans.test_services_rollback"
    values, unavailable = selectors.provided_evidence("appointments", [f"{here}.backlog_zero"])
    assert values["sync_lag_seconds"] == 0.4
    assert "drift_rows" not in unavailable  # nobody claimed it: "no provider reports" later
    values, unavailable = selectors.provided_evidence(
        "appointments", [f"{here}.backlog_zero", f"{here}.provider_down"]
    )
    assert values["reverse_backlog"] == 0
    assert "ConnectionError: sync database unreachable" in unavailable["drift_rows"]
    assert "sync_lag_seconds" not in unavailable
