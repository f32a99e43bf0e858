"""The legacy appointment object, built from the model through the pure mapping.

Nothing here knows a legacy format: the model becomes an `AppointmentRecord` and the mapping
(legacy_adapter.mapping) renders it, so the JSON the service returns is, by construction, the
row forward sync read, with the legacy key order (APPT_ID, PAT_ID, PAT_NM, ...).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework import serializers

from extracted.appointments.models import Appointment
from legacy_adapter.mapping.appointments import (
    AppointmentRecord,
    AppointmentStatus,
    appointment_to_legacy,
)


def record_from_appointment(appointment: Appointment) -> AppointmentRecord:
    return AppointmentRecord(
        id=appointment.pk,
        patient_id=appointment.patient_id,
        patient_display_name=appointment.patient_display_name,
        provider_id=appointment.provider_id,
        starts_at=appointment.starts_at,
        duration_minutes=appointment.duration_minutes,
        status=AppointmentStatus(appointment.status),
        reason=appointment.reason,
        source_updated_at=appointment.source_updated_at,
    )


class LegacyAppointmentSerializer(serializers.BaseSerializer[Appointment]):
    """Output only: the legacy face never accepts an appointment body through this class."""

    def to_representation(self, instance: Appointment) -> dict[str, Any]:
        return appointment_to_legacy(record_from_appointment(instance), settings.FICUS_HOSPITAL_TZ)
