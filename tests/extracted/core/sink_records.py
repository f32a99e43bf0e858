"""Synthetic clean records for the sink tests (no real person: 9xx SSNs, 555 phones)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from cryptography.fernet import Fernet

from legacy_adapter.mapping.appointments import AppointmentRecord, AppointmentStatus
from legacy_adapter.mapping.patients import PatientRecord, Sex

V1 = datetime(2026, 11, 20, 8, 30, tzinfo=UTC)
V2 = V1 + timedelta(minutes=5)
PHI_KEY = Fernet.generate_key().decode()


def appointment(key: int, **changes: Any) -> AppointmentRecord:
    base = AppointmentRecord(
        id=key, patient_id=17, patient_display_name="DOE, JANE", provider_id=3,
        starts_at=datetime(2026, 11, 21, 15, 30, tzinfo=UTC), duration_minutes=15,
        status=AppointmentStatus.BOOKED, reason="FOLLOW UP", source_updated_at=V1,
    )  # fmt: skip
    return replace(base, **changes)


def patient(key: int, **changes: Any) -> PatientRecord:
    base = PatientRecord(
        id=key, mrn=f"M{key:07d}", family_name="DOE", given_name="JANE",
        birth_date=date(1980, 2, 29), sex=Sex.FEMALE, ssn="912-34-5678",
        phone="(312) 555-0142", address_line="12 ELM ST", city="OAKTON", state="IL",
        postal_code="60601", source_updated_at=V1,
    )  # fmt: skip
    return replace(base, **changes)
