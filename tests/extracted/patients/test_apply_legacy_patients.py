"""The forward-sync sink: idempotent upserts under a version guard (state only moves forward)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta

import pytest

from extracted.core.sink import ApplyResult
from extracted.patients.models import Outbox, Patient
from extracted.patients.services import apply_legacy_patients
from legacy_adapter.mapping.patients import PatientRecord, Sex

pytestmark = pytest.mark.django_db(databases=["default", "patients"])

V1 = datetime(2026, 11, 20, 8, 30, tzinfo=UTC)
RECORD = PatientRecord(
    id=17, mrn="M0000017", family_name="DOE", given_name="JANE", birth_date=date(1980, 2, 29),
    sex=Sex.FEMALE, ssn="912-34-5678", phone="", address_line="12 ELM ST", city="OAKTON",
    state="IL", postal_code="60601", source_updated_at=V1,
)  # fmt: skip


def test_it_inserts_then_treats_a_replay_as_unchanged():
    assert apply_legacy_patients(records=[RECORD]) == ApplyResult(applied=1)
    assert apply_legacy_patients(records=[RECORD]) == ApplyResult(unchanged=1)
    assert Patient.objects.get(pk=17).ssn == "912-34-5678"
    assert not Outbox.objects.exists()  # changes from legacy are never echoed back


def test_newer_wins_and_older_is_skipped():
    newer = dataclasses.replace(RECORD, city="ELSEWHERE", source_updated_at=V1 + timedelta(1))
    apply_legacy_patients(records=[RECORD])

    assert apply_legacy_patients(records=[newer]) == ApplyResult(applied=1)
    assert apply_legacy_patients(records=[RECORD]) == ApplyResult(skipped_older=1)
    assert Patient.objects.get(pk=17).city == "ELSEWHERE"


def test_same_version_with_new_content_is_applied():
    apply_legacy_patients(records=[RECORD])
    same_second = dataclasses.replace(RECORD, phone="(312) 555-0100")

    assert apply_legacy_patients(records=[same_second]) == ApplyResult(applied=1)
    assert Patient.objects.get(pk=17).phone == "(312) 555-0100"


def test_within_one_batch_the_newest_copy_of_a_key_wins():
    newer = dataclasses.replace(RECORD, city="LATER", source_updated_at=V1 + timedelta(1))

    result = apply_legacy_patients(records=[newer, RECORD])

    assert result == ApplyResult(applied=1, skipped_older=1)
    assert Patient.objects.get(pk=17).city == "LATER"
