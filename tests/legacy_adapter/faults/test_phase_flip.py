"""Writers on both sides race on a few hot keys, interleaved at random with forward and
reverse batches of the size 2, as the worker runs them (both directions, always).

Legacy writes (forward) and service writes made as the service makes them (reverse: the row,
its version from the clock, its outbox row) come one after the other, each newer than the one
before (2 ms apart: SQLite's capture clock has milliseconds), so "no stale write wins" has one
meaning: at the end both sides hold, for every key, the content of its newest write. The end
is the worker's own loop, batches in both directions until nothing is pending. Reconcile
finds 0 drift, and no echo was ever applied forward. (tests/legacy_adapter/faults/
test_sigkill.py runs the same promise through real processes.)
"""

from __future__ import annotations

import random
import time

import pytest

from extracted.appointments.models import Appointment
from legacy_adapter.features import feature_sync
from legacy_adapter.forward_apply import ForwardApplier
from legacy_adapter.models import AppliedChange
from legacy_adapter.operations import reconcile_feature
from legacy_adapter.reverse_apply import ReverseApplier
from tests.legacy_adapter.legacy_db import add_appointments, appointment_row
from tests.legacy_adapter.sync_helpers import edit, legacy_engine, service_edit, sql

pytestmark = pytest.mark.django_db(databases=["default", "appointments"])
HOT = (1, 2, 3)


@pytest.fixture
def legacy(legacy_database_url):
    engine = legacy_engine(legacy_database_url)
    yield engine
    engine.dispose()


def race(legacy, seed: int) -> dict[int, str]:
    rng = random.Random(seed)
    sync = feature_sync("appointments")
    sync.target.ensure_tables()
    add_appointments(legacy, [appointment_row(k, UPD_TS="20261121080000") for k in HOT])
    ForwardApplier(legacy, sync.source, sync.target).drain()
    newest: dict[int, str] = {}
    for step in range(60):
        roll = rng.random()
        key = rng.choice(HOT)
        if roll < 0.6:
            time.sleep(0.002)  # one write after the other, at the capture clock's resolution
        if roll < 0.3:
            reason = f"LEGACY {step}"
            edit(legacy, key, REASON_TXT=reason, UPD_TS=f"20261121{8 + step // 60:02d}{step:02d}00")
            newest[key] = reason
        elif roll < 0.6:
            reason = f"SERVICE {step}"
            service_edit(key, reason=reason)
            newest[key] = reason
        elif roll < 0.8:
            ForwardApplier(legacy, sync.source, sync.target, batch_size=2).run_batch()
        else:
            ReverseApplier(legacy, sync.target, batch_size=2).run_batch()
    # Writes stop; the worker's loop goes on, one batch each way, until nothing is pending.
    while (
        ForwardApplier(legacy, sync.source, sync.target).run_batch() is not None
        or ReverseApplier(legacy, sync.target).run_batch() is not None
    ):
        pass
    return newest


@pytest.mark.parametrize("seed", range(4))
def test_the_newest_write_wins_on_both_sides_and_nothing_echoes(legacy, seed):
    newest = race(legacy, seed)

    sync = feature_sync("appointments")
    assert reconcile_feature(legacy, sync).drift_rows == 0
    legacy_reasons = dict(sql(legacy, "SELECT APPT_ID, REASON_TXT FROM APPT_SCHED"))
    service_reasons = dict(Appointment.objects.values_list("pk", "reason"))
    for key, reason in newest.items():
        assert legacy_reasons[key] == reason
        assert service_reasons[key] == reason
    echoes = {row[0] for row in sql(legacy, "SELECT id FROM ficus_change WHERE origin = 'ficus'")}
    applied = set(AppliedChange.objects.using("appointments").values_list("change_id", flat=True))
    assert not echoes & applied


@pytest.mark.databases
def test_the_newest_write_wins_with_legacy_on_servers(legacy):
    newest = race(legacy, 99)

    assert reconcile_feature(legacy, feature_sync("appointments")).drift_rows == 0
    legacy_reasons = dict(sql(legacy, "SELECT APPT_ID, REASON_TXT FROM APPT_SCHED"))
    assert all(legacy_reasons[key] == reason for key, reason in newest.items())
