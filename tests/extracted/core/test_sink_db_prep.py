"""The sink's value preparers give exactly what each field's own get_db_prep_value gives."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.db import connections

from extracted.appointments.models import Appointment
from extracted.core.db_prep import preparer
from extracted.patients import crypto
from extracted.patients.models import Patient
from legacy_adapter.mapping.appointments import AppointmentStatus
from legacy_adapter.mapping.patients import Sex
from tests.extracted.core.sink_records import PHI_KEY

CHICAGO = ZoneInfo("America/Chicago")
VALUES: dict[str, list[Any]] = {
    "id": [7, "7"],
    "patient_id": [17, None],
    "duration_minutes": [15],
    "patient_display_name": ["DOE, JANE", ""],
    "status": [AppointmentStatus.ARRIVED, "booked"],
    "starts_at": [
        datetime(2026, 11, 21, 9, 30, tzinfo=CHICAGO),
        datetime(2026, 3, 8, 8, tzinfo=UTC),
    ],
    "birth_date": [date(1980, 2, 29)],
    "sex": [Sex.FEMALE],
    "city": ["OAKTON", None],
}


@pytest.mark.parametrize("alias", ["appointments", "patients"])
def test_it_matches_the_field_for_every_value(alias):
    connection = connections[alias]
    for model in (Appointment, Patient):
        fields = {f.name: f for f in model._meta.concrete_fields}
        for name, values in VALUES.items():
            if name not in fields:
                continue
            field = fields[name]
            prep = preparer(field, connection)
            for value in values:
                plain = value.value if isinstance(value, Sex | AppointmentStatus) else value
                expected = field.get_db_prep_value(plain, connection, prepared=False)
                assert prep(value) == expected, (model, name, value)
                assert type(prep(value)) is type(expected)


def test_enum_members_reach_the_driver_as_plain_strings():
    prep = preparer(Appointment._meta.get_field("status"), connections["appointments"])

    assert type(prep(AppointmentStatus.NO_SHOW)) is str
    assert prep(AppointmentStatus.NO_SHOW) == "no_show"


def test_an_encrypted_field_is_never_shortcut(settings):
    settings.FICUS_PHI_KEY = PHI_KEY
    prep = preparer(Patient._meta.get_field("phone"), connections["patients"])

    token = prep("(312) 555-0142")

    assert token != "(312) 555-0142"
    assert crypto.decrypt(token, what="phone") == "(312) 555-0142"


# source_updated_at: a DateTimeField, the kind the batch memo is for (starts_at is an
# InstantField, which always takes its own path).
def test_one_batchs_datetimes_are_each_the_fields_own_result():
    connection = connections["appointments"]
    field = Appointment._meta.get_field("source_updated_at")
    prep = preparer(field, connection)
    local = datetime(2026, 11, 21, 9, 30, tzinfo=CHICAGO)
    same_instant = local.astimezone(UTC)
    later = datetime(2026, 11, 21, 9, 45, tzinfo=CHICAGO)

    for value in (local, same_instant, later, local):
        assert prep(value) == field.get_db_prep_value(value, connection, prepared=False)


def test_a_naive_datetime_is_never_served_from_the_batch_memo():
    prep = preparer(Appointment._meta.get_field("source_updated_at"), connections["appointments"])
    prep(datetime(2026, 11, 21, 9, 30, tzinfo=UTC))

    with pytest.warns(RuntimeWarning, match="naive datetime"):
        prep(datetime(2026, 11, 21, 9, 30))


def test_a_naive_start_is_refused_not_taken_as_utc():
    prep = preparer(Appointment._meta.get_field("starts_at"), connections["appointments"])

    assert prep(datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC)) == 1_000_000  # microseconds
    with pytest.raises(ValidationError, match="time-zone-aware"):
        prep(datetime(2026, 11, 21, 9, 30))
