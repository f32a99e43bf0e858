"""Reads of the appointments service (HackSoft style: views and commands read through here)."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from extracted.appointments.models import AccessAudit, Appointment
from extracted.core.calendar_ends import day_bounds

# APPT_ID is a 32-bit INTEGER; a larger id cannot exist, and asking PostgreSQL for one would
# fail with "integer out of range" instead of simply finding nothing.
_MAX_ID = 2**31 - 1


def appointment_get(*, appointment_id: int) -> Appointment | None:
    if not 0 < appointment_id <= _MAX_ID:
        return None
    return Appointment.objects.filter(pk=appointment_id).first()


def appointments_for_day(*, provider_id: int, day: date, zone_name: str) -> list[Appointment]:
    """One provider's appointments on one local day, in the legacy order (APPT_TM, APPT_ID).

    Within a local day the UTC start orders exactly as the wall-clock time does (a DST gap time
    cannot be stored, and an ambiguous one is read as its first occurrence).
    """
    start, end = day_bounds(day, ZoneInfo(zone_name))  # end None: 9999-12-31 has no next day
    found = Appointment.objects.filter(provider_id=provider_id, starts_at__gte=start)
    if end is not None:
        found = found.filter(starts_at__lt=end)
    return list(found.order_by("starts_at", "id"))


def access_audit_entries(
    *, record_id: str | None, login: str | None, limit: int
) -> list[AccessAudit]:
    """The newest audit rows (optionally of one record and/or one login), newest first."""
    rows = AccessAudit.objects.all()
    if record_id is not None:
        rows = rows.filter(record_type="appointment", record_id=record_id)
    if login is not None:
        rows = rows.filter(login=login)
    return list(rows.order_by("-id")[:limit])
