"""The forward-sync sink: idempotent upserts under a version guard, one transaction per batch."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from django.db import IntegrityError

from extracted.appointments.models import Appointment
from extracted.appointments.services import apply_legacy_appointments
from extracted.core.sink import ApplyResult
from legacy_adapter.mapping.appointments import AppointmentRecord, AppointmentStatus

pytestmark = pytest.mark.django_db(databases=["default", "appointments"])

V1 = datetime(2026, 11, 20, 8, 30, tzinfo=UTC)
V2 = V1 + timedelta(minutes=5)


def record(key: int, **changes) -> AppointmentRecord:
    base = AppointmentRecord(
        id=key,
        patient_id=17,
        patient_display_name="DOE, JANE",
        provider_id=3,
        starts_at=datetime(2026, 11, 21, 15, 30, tzinfo=UTC),
        duration_minutes=15,
        status=AppointmentStatus.BOOKED,
        reason="FOLLOW UP",
        source_updated_at=V1,
    )
    return replace(base, **changes)


def test_it_inserts_new_appointments_with_the_legacy_id():
    result = apply_legacy_appointments(records=[record(5), record(9)])

    assert result == ApplyResult(applied=2)
    row = Appointment.objects.get(pk=9)
    assert (row.status, row.starts_at, row.source_updated_at) == ("booked", record(9).starts_at, V1)


def test_a_replay_writes_nothing():
    apply_legacy_appointments(records=[record(5)])

    assert apply_legacy_appointments(records=[record(5)]) == ApplyResult(unchanged=1)


def test_a_newer_version_is_applied():
    apply_legacy_appointments(records=[record(5)])

    result = apply_legacy_appointments(
        records=[record(5, status=AppointmentStatus.CANCELLED, source_updated_at=V2)]
    )

    assert result == ApplyResult(applied=1)
    assert Appointment.objects.get(pk=5).status == Appointment.Status.CANCELLED


def test_an_older_version_never_overwrites_a_newer_one():
    apply_legacy_appointments(records=[record(5, reason="NEWER", source_updated_at=V2)])

    result = apply_legacy_appointments(records=[record(5, reason="OLDER", source_updated_at=V1)])

    assert result == ApplyResult(skipped_older=1)
    row = Appointment.objects.get(pk=5)
    assert (row.reason, row.source_updated_at) == ("NEWER", V2)


def test_a_second_edit_within_the_same_second_is_applied():
    # UPD_TS has whole seconds: the reader maps the current row, i.e. the later edit.
    apply_legacy_appointments(records=[record(5, reason="FIRST")])

    result = apply_legacy_appointments(records=[record(5, reason="SECOND")])

    assert result == ApplyResult(applied=1)
    assert Appointment.objects.get(pk=5).reason == "SECOND"


def test_within_one_batch_the_newest_copy_of_a_key_wins_in_either_order():
    newer = record(5, reason="NEWER", source_updated_at=V2)
    older = record(5, reason="OLDER", source_updated_at=V1)

    first = apply_legacy_appointments(records=[newer, older, record(6)])
    Appointment.objects.all().delete()
    second = apply_legacy_appointments(records=[older, newer, record(6)])

    assert first == second == ApplyResult(applied=2, skipped_older=1)
    assert Appointment.objects.get(pk=5).reason == "NEWER"


def test_a_batch_is_all_or_nothing():
    apply_legacy_appointments(records=[record(1)])
    bad = record(3, duration_minutes=0)  # violates the duration check constraint

    with pytest.raises(IntegrityError):
        apply_legacy_appointments(records=[record(1, reason="CHANGED", source_updated_at=V2),
                                           record(2), bad])  # fmt: skip

    assert sorted(Appointment.objects.values_list("pk", flat=True)) == [1]
    assert Appointment.objects.get(pk=1).reason == "FOLLOW UP"


def test_the_model_status_values_are_the_mapping_status_values():
    assert {s.value for s in AppointmentStatus} == set(Appointment.Status.values)
