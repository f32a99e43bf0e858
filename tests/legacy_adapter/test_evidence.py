"""The gates' evidence provider (contract C3) reports lag, drift and reverse backlog."""

from __future__ import annotations

import pytest

from legacy_adapter.evidence import sync_evidence
from legacy_adapter.features import feature_sync
from legacy_adapter.operations import reconcile_feature
from legacy_adapter.reverse_apply import ReverseApplier
from tests.legacy_adapter.legacy_db import add_appointments, appointment_row
from tests.legacy_adapter.sync_helpers import applier, legacy_engine, service_edit

pytestmark = pytest.mark.django_db(databases=["default", "appointments"])


@pytest.fixture
def legacy(legacy_database_url, settings):
    settings.LEGACY_DATABASE_URL = legacy_database_url
    engine = legacy_engine(legacy_database_url)
    yield engine
    engine.dispose()


def test_it_reports_pending_work_then_nothing_once_applied(legacy):
    add_appointments(legacy, [appointment_row(1), appointment_row(2)])

    before = sync_evidence("appointments")
    lag = before["sync_lag_seconds"]
    assert lag is not None
    assert lag > 0  # two changes wait
    assert before["drift_rows"] is None  # never reconciled: unavailable to a gate

    applier(legacy).drain()
    service_edit(1, reason="CHANGED IN THE SERVICE")
    waiting = sync_evidence("appointments")
    assert waiting["reverse_backlog"] == 1  # rollback must wait for it

    ReverseApplier(legacy, feature_sync("appointments").target).drain()
    applier(legacy).drain()  # the echo
    reconcile_feature(legacy, feature_sync("appointments"))
    assert sync_evidence("appointments") == {
        "sync_lag_seconds": 0.0,
        "drift_rows": 0,
        "reverse_backlog": 0,
    }


def test_an_unknown_feature_raises(legacy):
    with pytest.raises(ValueError, match="unknown feature"):
        sync_evidence("billing")
