"""The delete sinks: copies whose legacy rows are gone are removed, counted, and only those."""

from __future__ import annotations

import pytest

from extracted.appointments.models import Appointment
from extracted.appointments.services import apply_legacy_appointments, delete_legacy_appointments
from extracted.patients.models import Patient
from extracted.patients.services import apply_legacy_patients, delete_legacy_patients
from tests.extracted.core.sink_records import PHI_KEY, appointment, patient


@pytest.mark.django_db(databases=["default", "appointments"])
def test_it_deletes_the_given_appointments_and_counts_only_those_that_existed():
    apply_legacy_appointments(records=[appointment(k) for k in (1, 2, 3)])

    deleted = delete_legacy_appointments(ids=[2, 3, 99, 3])

    assert deleted == 2
    assert list(Appointment.objects.values_list("pk", flat=True)) == [1]


@pytest.mark.django_db(databases=["default", "appointments"])
def test_it_deletes_thousands_in_one_call_and_nothing_for_no_ids():
    apply_legacy_appointments(records=[appointment(k) for k in range(1, 2501)])

    assert delete_legacy_appointments(ids=[]) == 0
    assert delete_legacy_appointments(ids=range(1, 2001, 2)) == 1000  # keys with gaps
    assert delete_legacy_appointments(ids=range(2001, 2500)) == 499  # a run of keys
    assert list(Appointment.objects.values_list("pk", flat=True)) == [*range(2, 2001, 2), 2500]


@pytest.mark.django_db(databases=["default", "patients"])
def test_it_deletes_the_given_patients(settings):
    settings.FICUS_PHI_KEY = PHI_KEY
    apply_legacy_patients(records=[patient(k) for k in (17, 18)])

    assert delete_legacy_patients(ids=[17]) == 1
    assert list(Patient.objects.values_list("pk", flat=True)) == [18]
    assert apply_legacy_patients(records=[patient(17)]).applied == 1  # it can come back
