"""The service side of sync, in Django: one `ServiceTarget` per feature.

It wraps the service's own sink (`apply_legacy_appointments`, `apply_legacy_patients`, with
their version guards) in an outer transaction on the service's alias that also deletes the
rows whose legacy row is gone (through the service's delete sink, `delete_legacy_*`) and
records the applied change ids (`ficus_applied_change`), so "applied" and "recorded as applied"
commit together or not at all. Deletes are state-based too (the legacy row is gone, so the copy
goes).

It also reads the service rows back in the legacy canonical form, for reconcile, and offers
the backfill a stricter guard (never overwrite a stored row of the same version), so a backfill
that read a row just before a live change can never put the older content back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import DataError, IntegrityError, transaction
from django.db.models import Model

from extracted.core.outbox import OutboxEntry
from legacy_adapter.applied import (
    already_applied,
    ensure_applied_change_table,
    forget_applied,
    record_applied,
)
from legacy_adapter.mapping import STATUS_CODES
from legacy_adapter.sources import Canonical, LegacySource, canonical

FORWARD_SOURCE = "legacy"  # the stream name under which forward change ids are recorded


@dataclass(frozen=True, slots=True)
class Counts:
    applied: int = 0
    unchanged: int = 0
    skipped_older: int = 0


class ServiceTarget:
    def __init__(
        self,
        *,
        source: LegacySource,
        alias: str,
        model: type[Model],
        sink: Callable[..., Any],
        delete_sink: Callable[..., int],
        record_fields: tuple[str, ...],
        to_canonical: Callable[[tuple[Any, ...]], Canonical],
        record_type: Callable[..., Any],
        outbox: type[OutboxEntry],
    ) -> None:
        self.source = source
        self.alias = alias
        self.model = model
        self._sink = sink
        self._delete_sink = delete_sink
        self.record_fields = record_fields
        self._to_canonical = to_canonical
        self.record_type = record_type  # builds the clean record from `record_fields` values
        self.outbox = outbox  # the service's Outbox model (contract C4), for reverse sync

    def ensure_tables(self) -> None:
        ensure_applied_change_table(self.alias)

    # -- forward apply -------------------------------------------------------------------------

    def applied_ids(self, change_ids: Sequence[int]) -> set[int]:
        return already_applied(self.alias, FORWARD_SOURCE, change_ids)

    def apply(
        self, *, records: Sequence[Any], deleted: Sequence[int], change_ids: Sequence[int]
    ) -> Counts:
        with transaction.atomic(using=self.alias):
            result = self._sink(records=records) if records else Counts()
            if deleted:
                self._delete_sink(ids=deleted)
            record_applied(self.alias, FORWARD_SOURCE, change_ids)
        return Counts(result.applied, result.unchanged, result.skipped_older)

    def forget_applied(self, change_ids: Sequence[int]) -> None:
        forget_applied(self.alias, FORWARD_SOURCE, change_ids)

    def is_row_error(self, error: Exception) -> bool:
        # Constraint and data errors concern the rows; connection errors, configuration
        # errors and the like concern the service and must stop the batch, not poison a key.
        return isinstance(error, IntegrityError | DataError | ValidationError | ValueError)

    def backfill_apply(self, *, records: Sequence[Any]) -> Counts:
        """Apply only rows that are new or strictly newer than the stored version."""
        with transaction.atomic(using=self.alias):
            manager = self.model._default_manager.using(self.alias)
            stored = dict(
                manager.select_for_update()
                .filter(pk__in=[r.id for r in records])
                .values_list("pk", "source_updated_at")
            )
            fresh = [r for r in records if r.id not in stored or r.source_updated_at > stored[r.id]]
            result = self._sink(records=fresh) if fresh else Counts()
        return Counts(
            result.applied,
            result.unchanged + len(records) - len(fresh),
            result.skipped_older,
        )

    # -- reconcile -----------------------------------------------------------------------------

    def canonical_rows(
        self, *, lo: int, hi: int, batch: int = 5000
    ) -> Iterator[tuple[int, Canonical]]:
        manager = self.model._default_manager.using(self.alias)
        after = lo - 1
        while True:
            rows = list(
                manager.filter(pk__gt=after, pk__lt=hi)
                .order_by("pk")
                .values_list(*self.record_fields)[:batch]
            )
            for row in rows:
                yield int(row[0]), self._to_canonical(row)
            if len(rows) < batch:
                return
            after = rows[-1][0]

    def key_bounds(self) -> tuple[int | None, int | None]:
        from django.db.models import Max, Min

        bounds = self.model._default_manager.using(self.alias).aggregate(lo=Min("pk"), hi=Max("pk"))
        return bounds["lo"], bounds["hi"]


# -- the features ------------------------------------------------------------------------------

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
        local = starts.astimezone(zone)
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


def appointments_target(source: LegacySource, zone_name: str) -> ServiceTarget:
    from extracted.appointments.models import Appointment, Outbox
    from extracted.appointments.services import (
        apply_legacy_appointments,
        delete_legacy_appointments,
    )
    from legacy_adapter.mapping import AppointmentRecord, AppointmentStatus

    def record(**values: Any) -> AppointmentRecord:
        # Django hands back the plain string; the codec wants the enum member itself.
        return AppointmentRecord(**{**values, "status": AppointmentStatus(values["status"])})

    return ServiceTarget(
        source=source,
        alias="appointments",
        model=Appointment,
        sink=apply_legacy_appointments,
        delete_sink=delete_legacy_appointments,
        record_fields=APPOINTMENT_FIELDS,
        to_canonical=appointment_canonical(ZoneInfo(zone_name)),
        record_type=record,
        outbox=Outbox,
    )


def patients_target(source: LegacySource) -> ServiceTarget:
    from extracted.patients.models import Outbox, Patient
    from extracted.patients.services import apply_legacy_patients, delete_legacy_patients
    from legacy_adapter.mapping.patients import PatientRecord, Sex

    fields = tuple(PatientRecord.__dataclass_fields__)

    def record(**values: Any) -> PatientRecord:
        return PatientRecord(**{**values, "sex": Sex(values["sex"])})

    def convert(row: tuple[Any, ...]) -> Canonical:
        legacy = source.to_legacy(record(**dict(zip(fields, row, strict=True))))
        return canonical([legacy[c] for c in source.compared])

    return ServiceTarget(
        source=source,
        alias="patients",
        model=Patient,
        sink=apply_legacy_patients,
        delete_sink=delete_legacy_patients,
        record_fields=fields,
        to_canonical=convert,
        record_type=record,
        outbox=Outbox,
    )
