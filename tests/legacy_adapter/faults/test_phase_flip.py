"""Writers on both sides race on a few hot keys while ownership flips back and forth.

Legacy writes (forward) and service writes with their outbox rows (reverse) interleave at
random with forward and reverse batches, around flips of the direction. Every write carries a
newer version than any before it, so "no stale write wins" has one meaning: at the end both
sides hold, for every key, the content of its newest write. Reconcile finds 0 drift, and no
echo was ever applied forward.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction

from extracted.appointments.models import Appointment, Outbox
from extracted.core.outbox import UPSERT, record_change
from legacy_adapter.features import feature_sync
from legacy_adapter.forward_apply import ForwardApplier
from legacy_adapter.models import AppliedChange
from legacy_adapter.operations import reconcile_feature
from legacy_adapter.reverse_apply import ReverseApplier
from tests.legacy_adapter.legacy_db import add_appointments, appointment_row
from tests.legacy_adapter.sync_helpers import edit, legacy_engine, sql

pytestmark = pytest.mark.django_db(databases=["default", "appointments"])
HOT = (1, 2, 3)
START = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)


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
    clock = [0]

    def version() -> datetime:
        clock[0] += 1
        return START + timedelta(seconds=clock[0])

    owner = "forward"
    for step in range(60):
        if step % 15 == 14:
            owner = "reverse" if owner == "forward" else "forward"  # the phase flips
        roll = rng.random()
        key = rng.choice(HOT)
        if roll < 0.3:
            when = version()
            reason = f"LEGACY {step}"
            edit(legacy, key, REASON_TXT=reason, UPD_TS=when.strftime("%Y%m%d%H%M%S"))
            newest[key] = reason
        elif roll < 0.6:
            when = version()
            reason = f"SERVICE {step}"
            with transaction.atomic(using="appointments"):
                Appointment.objects.filter(pk=key).update(reason=reason, source_updated_at=when)
                record_change(Outbox, aggregate="appointment", key=key, operation=UPSERT)
            newest[key] = reason
        elif roll < 0.8:
            ForwardApplier(
                legacy, sync.source, sync.target, batch_size=2, only_echoes=owner == "reverse"
            ).run_batch()
        else:
            ReverseApplier(legacy, sync.target, batch_size=2).run_batch()
    # Writes stop; both directions drain (the rollback rule: no backlog left behind).
    for _ in range(3):
        ReverseApplier(legacy, sync.target).drain()
        ForwardApplier(legacy, sync.source, sync.target).drain()
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
