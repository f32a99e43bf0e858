"""The worker's /metrics: lag, backlog, dead letters and drift, as Prometheus reads them (G7)."""

from __future__ import annotations

import urllib.request

import pytest

from legacy_adapter.features import feature_sync
from legacy_adapter.metrics import SyncMetrics
from legacy_adapter.operations import reconcile_feature, status_of
from tests.legacy_adapter.legacy_db import add_appointments, appointment_row
from tests.legacy_adapter.sync_helpers import applier, edit, legacy_engine
from tests.support.ports import LOOPBACK, free_port
from tests.support.prometheus import check_metrics

pytestmark = pytest.mark.django_db(databases=["default", "appointments"])


@pytest.fixture
def legacy(legacy_database_url):
    engine = legacy_engine(legacy_database_url)
    yield engine
    engine.dispose()


def value(text: str, sample: str) -> float:
    line = next(line for line in text.splitlines() if line.startswith(sample + " "))
    return float(line.rsplit(" ", 1)[1])


def scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://{LOOPBACK}:{port}/metrics", timeout=10) as response:
        return str(response.read().decode())


def test_it_exports_lag_backlog_dead_letters_and_drift(legacy):
    add_appointments(legacy, [appointment_row(k) for k in range(1, 4)])
    metrics = SyncMetrics()
    port = free_port()
    server = metrics.serve(port)
    try:
        sync = feature_sync("appointments")
        sync.target.ensure_tables()
        metrics.observe_status(status_of(legacy, sync))
        waiting = scrape(port)
        edit(legacy, 2, STATUS_CD="?")
        applier(legacy).drain()
        reconcile_feature(legacy, sync)
        metrics.observe_status(status_of(legacy, sync))
        settled = scrape(port)
    finally:
        server.shutdown()
        server.server_close()

    backlog = 'ficus_sync_backlog{direction="forward",feature="appointments"}'
    lag = 'ficus_sync_lag_seconds{direction="forward",feature="appointments"}'
    assert value(waiting, backlog) == 3
    assert value(waiting, lag) > 0
    assert value(settled, backlog) == 0
    assert value(settled, lag) == 0
    assert value(settled, 'ficus_sync_dead_letters{feature="appointments"}') == 1
    assert value(settled, 'ficus_sync_drift_rows{feature="appointments"}') == 1
    # Names, types and help as Prometheus's own linter wants them.
    assert check_metrics(settled) == ""
