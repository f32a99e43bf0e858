"""The appointments service's side of sync: its `ServiceTarget` over the service's own models
and sinks (extracted.core.sync_target), and a service row in the legacy form for reconcile."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC
from typing import Any
from zoneinfo import ZoneInfo

from domain.records.instants import in_zone
from domain.records.source_spec import Canonical
from extracted.appointments.models import Appointment, Outbox
from extracted.appointments.services import (
    apply_legacy_appointments,
    delete_legacy_appointments,
    unique_holders,
)
from extracted.core.sync_target import ServiceTarget
from legacy_adapter.mapping.appointments import STATUS_CODES, AppointmentRecord, AppointmentStatus
from legacy_adapter.sources import LegacySource

_STATUS_TO_CODE = {status.value: code for code, status in STATUS_CODES.items()}
APPOINTMENT_FIELDS = (
    "id",
    "patient_id",
    "patient_display_name",
    "provider_id",
    "starts_at",
    "duration_minutes",
    "status",
    "reason",
    "source_updated_at",
)


def appointment_canonical(zone: ZoneInfo) -> Callable[[tuple[Any, ...]], Canonical]:
    """A service row in the legacy form, directly (reconcile reads a million of these)."""

    def convert(row: tuple[Any, ...]) -> Canonical:
        key, pat, name, prov, starts, dur, status, reason, version = row
        local = in_zone(starts, zone)  # also where UTC is year 0 or 10000 (domain.records.instants)
        v = version.astimezone(UTC)
        return (
            str(key),
            str(pat),
            name,
            str(prov),
            f"{local.year:04d}{local.month:02d}{local.day:02d}",
            f"{local.hour:02d}{local.minute:02d}",
            str(dur),
            _STATUS_TO_CODE.get(status, "?"),
            "" if reason is None else reason,
            f"{v.year:04d}{v.month:02d}{v.day:02d}{v.hour:02d}{v.minute:02d}{v.second:02d}",
        )

    return convert


def sync_target(source: LegacySource, zone_name: str) -> ServiceTarget:
    def record(**values: Any) -> AppointmentRecord:
        # Django hands back the plain string; the codec wants the enum member itself.
        return AppointmentRecord(**{**values, "status": AppointmentStatus(values["status"])})

    return ServiceTarget(
        source=source,
        alias="appointments",
        model=Appointment,
        sink=apply_legacy_appointments,
        delete_sink=delete_legacy_appointments,
        unique_holders=unique_holders,
        record_fields=APPOINTMENT_FIELDS,
        to_canonical=appointment_canonical(ZoneInfo(zone_name)),
        record_type=record,
        outbox=Outbox,
    )
