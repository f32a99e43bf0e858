"""Seed appointments for the /v2 and FHIR tests (synthetic), and the persona fixture wiring.

Five appointments over three hospital days, three patients, two providers and all four
statuses; #4 starts at 23:30 in Chicago, which is already the next day in UTC, so a filter
that used UTC days instead of hospital days would misplace it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from extracted.appointments.models import Appointment
from tests.extracted.identities import KEY

CHICAGO = ZoneInfo("America/Chicago")

# id: (patient_id, name, provider_id, local start, minutes, status, reason)
SEED = {
    1: (17, "DOE, JANE", 3, datetime(2026, 11, 21, 9, 30), 15, "booked", "FOLLOW UP"),
    2: (18, "ROE, RICHARD", 3, datetime(2026, 11, 21, 8, 0), 30, "arrived", ""),
    3: (17, "DOE, JANE", 4, datetime(2026, 11, 22, 10, 0), 20, "cancelled", "RASH"),
    4: (19, "POE, ANNA", 3, datetime(2026, 11, 21, 23, 30), 15, "no_show", "LATE VISIT"),
    5: (18, "ROE, RICHARD", 4, datetime(2026, 11, 20, 14, 0), 15, "booked", "CHECK UP"),
}
# The seed in time order (the order every list and search answers in).
IN_TIME_ORDER = [5, 2, 1, 4, 3]
UPDATED_AT = datetime(2026, 11, 20, 8, 30, tzinfo=UTC)


def seed_appointments() -> None:
    for key, (patient, name, provider, start, minutes, status, reason) in SEED.items():
        Appointment.objects.create(
            id=key,
            patient_id=patient,
            patient_display_name=name,
            provider_id=provider,
            starts_at=start.replace(tzinfo=CHICAGO),
            duration_minutes=minutes,
            status=status,
            reason=reason,
            source_updated_at=UPDATED_AT,
        )


@pytest.fixture
def seeded(settings):
    settings.FICUS_IDENTITY_KEY = KEY
    settings.FICUS_HOSPITAL_TZ = "America/Chicago"
    seed_appointments()
