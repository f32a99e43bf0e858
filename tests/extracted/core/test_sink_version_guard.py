"""The shared versioned upsert: one mixed batch, every case of the guard, counted and stored."""

from __future__ import annotations

import pytest

from extracted.appointments.models import Appointment
from extracted.core.sink import ApplyResult, VersionedTable
from tests.extracted.core.sink_records import V1, V2, appointment

pytestmark = pytest.mark.django_db(databases=["default", "appointments"])

FIELDS = (
    "patient_id", "patient_display_name", "provider_id", "starts_at", "duration_minutes",
    "status", "reason", "source_updated_at",
)  # fmt: skip


def table(fields: tuple[str, ...] = FIELDS) -> VersionedTable:
    return VersionedTable(Appointment, fields, using="appointments")


def reasons() -> dict[int, str]:
    return dict(Appointment.objects.values_list("pk", "reason"))


def seed(*records) -> None:
    assert table().upsert(records).applied == len(records)


def test_it_sorts_one_batch_into_new_changed_replayed_and_older():
    seed(
        appointment(1, reason="KEEP", source_updated_at=V2),  # will get an older copy
        appointment(2, reason="SAME"),  # will get a replay
        appointment(3, reason="OLD"),  # will get a newer version
        appointment(4, reason="FIRST"),  # will get a same-second edit
    )

    result = table().upsert(
        [
            appointment(1, reason="STALE", source_updated_at=V1),
            appointment(2, reason="SAME"),
            appointment(3, reason="NEW", source_updated_at=V2),
            appointment(4, reason="SECOND"),
            appointment(5, reason="BRAND NEW"),
        ]
    )

    assert result == ApplyResult(applied=3, unchanged=1, skipped_older=1)
    assert reasons() == {1: "KEEP", 2: "SAME", 3: "NEW", 4: "SECOND", 5: "BRAND NEW"}


def test_it_writes_only_the_fields_it_copies():
    seed(appointment(1, patient_display_name="DOE, JANE"))

    narrow = table(("reason", "source_updated_at"))

    result = narrow.upsert(
        [appointment(1, patient_display_name="ELSE, ONE", reason="NEW", source_updated_at=V2)]
    )

    assert result == ApplyResult(applied=1)

    row = Appointment.objects.get(pk=1)
    assert (row.patient_display_name, row.reason) == ("DOE, JANE", "NEW")


@pytest.mark.parametrize(
    "keys", [range(1, 2501), range(1, 5001, 2)], ids=["a run of keys", "keys with gaps"]
)
def test_it_applies_batches_of_thousands_of_keys(keys):
    inserted = table().upsert([appointment(k, reason="A") for k in keys])
    updated = table().upsert([appointment(k, reason="B", source_updated_at=V2) for k in keys])
    replayed = table().upsert([appointment(k, reason="B", source_updated_at=V2) for k in keys])

    assert (inserted.applied, updated.applied, replayed.unchanged) == (2500, 2500, 2500)
    assert reasons() == dict.fromkeys(keys, "B")


def test_keys_between_those_of_a_batch_are_left_alone():
    seed(*(appointment(k, reason="OLD") for k in (1, 2, 3, 4)))

    result = table().upsert([appointment(k, reason="NEW", source_updated_at=V2) for k in (1, 4)])

    assert result == ApplyResult(applied=2)
    assert reasons() == {1: "NEW", 2: "OLD", 3: "OLD", 4: "NEW"}


def test_an_empty_batch_touches_nothing():
    assert table().upsert([]) == ApplyResult()


def test_a_table_without_the_version_field_is_refused():
    with pytest.raises(ValueError, match="source_updated_at"):
        VersionedTable(Appointment, ("reason",), using="appointments")
