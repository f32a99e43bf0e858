"""Reads of the appointments service (HackSoft style: views and commands read through here)."""

from __future__ import annotations

from extracted.appointments.models import Appointment

# APPT_ID is a 32-bit INTEGER; a larger id cannot exist, and asking PostgreSQL for one would
# fail with "integer out of range" instead of simply finding nothing.
_MAX_ID = 2**31 - 1


def appointment_get(*, appointment_id: int) -> Appointment | None:
    if not 0 < appointment_id <= _MAX_ID:
        return None
    return Appointment.objects.filter(pk=appointment_id).first()
