"""Duplicate delivery: batches that were already applied are delivered again (G2).

A worker can die after the target committed and before the source was marked; the same change
rows then come again. Whether the target remembers them (`ficus_applied_change`) or not (the
record was pruned), applying them again changes nothing, and the reverse side likewise.
"""

from __future__ import annotations

import pytest

from extracted.appointments.models import Appointment, Outbox
from legacy_adapter.features import feature_sync
from legacy_adapter.models import AppliedChange
from legacy_adapter.reverse_apply import ReverseApplier
from tests.legacy_adapter.legacy_db import add_appointments, appointment_row
from tests.legacy_adapter.sync_helpers import (
    applier,
    edit,
    legacy_engine,
    pending,
    service_edit,
    sql,
    stored,
)

pytestmark = pytest.mark.django_db(databases=["default", "appointments"])


@pytest.fixture
def legacy(legacy_database_url):
    engine = legacy_engine(legacy_database_url)
    yield engine
    engine.dispose()


def snapshot() -> list[tuple[object, ...]]:
    return sorted(Appointment.objects.values_list(*[f.attname for f in Appointment._meta.fields]))


def test_replayed_batches_are_recognised_and_change_nothing(legacy):
    add_appointments(legacy, [appointment_row(k) for k in range(1, 9)])
    edit(legacy, 3, STATUS_CD="C", UPD_TS="20261121100000")
    applier(legacy, batch_size=3).drain()
    before = snapshot()
    applied = AppliedChange.objects.using("appointments").count()

    for _ in range(3):  # delivered again, and again
        sql(legacy, "UPDATE ficus_change SET done_at_us = NULL")
        report = applier(legacy, batch_size=3).drain()
        assert (report.replayed, report.applied) == (report.claimed, 0)

    assert snapshot() == before
    assert AppliedChange.objects.using("appointments").count() == applied
    assert pending(legacy) == []


def test_replays_the_target_forgot_are_still_harmless(legacy):
    add_appointments(legacy, [appointment_row(k) for k in range(1, 6)])
    applier(legacy).drain()
    before = snapshot()
    AppliedChange.objects.using("appointments").all().delete()  # pruned records
    sql(legacy, "UPDATE ficus_change SET done_at_us = NULL")

    report = applier(legacy).drain()

    assert (report.applied, report.unchanged) == (0, 5)  # the version guard's work
    assert snapshot() == before


def test_a_replayed_outbox_batch_writes_legacy_once(legacy):
    add_appointments(legacy, [appointment_row(1), appointment_row(2)])
    applier(legacy).drain()
    service_edit(1, reason="SERVICE")  # as the service writes: the row, its version, the outbox
    stamped = stored()[1].source_updated_at.strftime("%Y%m%d%H%M%S")
    target = feature_sync("appointments").target
    first = ReverseApplier(legacy, target).drain()
    Outbox.objects.update(processed_at=None)  # delivered again

    again = ReverseApplier(legacy, target).drain()

    assert (first.written, again.written, again.unchanged) == (1, 0, 1)
    assert sql(legacy, "SELECT REASON_TXT, UPD_TS FROM APPT_SCHED WHERE APPT_ID = 1") == [
        ("SERVICE", stamped)
    ]
    assert applier(legacy).drain().echoes == 1  # one legacy write, one echo, skipped
    assert stored()[1].reason == "SERVICE"


@pytest.mark.databases
def test_a_replayed_outbox_batch_writes_legacy_once_on_servers(legacy):
    test_a_replayed_outbox_batch_writes_legacy_once(legacy)
