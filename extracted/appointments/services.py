"""Writes of the appointments service: every change to its database goes through here.

`apply_legacy_appointments` is the forward-sync sink: it takes clean records mapped from the
legacy database and upserts them under a version guard, so applying is idempotent and state
only moves forward (DESIGN.md §5, G2/G3):
  * a record older than the stored row (`source_updated_at` earlier) is skipped;
  * a record with the same version and the same content is a replay: nothing is written;
  * a record with the same version but different content *is* applied: the legacy UPD_TS has
    one-second resolution, so two edits in one second share a version, and the reader always
    maps the current legacy row, i.e. the later edit;
  * anything newer is applied.
Existing rows are locked (SELECT ... FOR UPDATE on PostgreSQL/MariaDB; SQLite serializes
writers) so two appliers can never interleave read-compare-write on a key. A concurrent insert
of the same new key makes the batch fail with IntegrityError and roll back as a whole; the
caller has not advanced its checkpoint, so the next pass re-applies it (at-least-once delivery,
exactly-once effect).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction

from extracted.appointments.models import Appointment
from legacy_adapter.mapping import AppointmentRecord

APPOINTMENTS_DB = "appointments"
_COPIED_FIELDS = (
    "patient_id",
    "patient_display_name",
    "provider_id",
    "starts_at",
    "duration_minutes",
    "status",
    "reason",
    "source_updated_at",
)


@dataclass(frozen=True, slots=True)
class ApplyResult:
    """What one apply did; the three counts add up to the number of records given."""

    applied: int = 0
    unchanged: int = 0
    skipped_older: int = 0


def _same_content(row: Appointment, record: AppointmentRecord) -> bool:
    return all(getattr(row, name) == getattr(record, name) for name in _COPIED_FIELDS)


def _copy_into(row: Appointment, record: AppointmentRecord) -> Appointment:
    for name in _COPIED_FIELDS:
        setattr(row, name, getattr(record, name))
    return row


@transaction.atomic(using=APPOINTMENTS_DB)
def apply_legacy_appointments(*, records: Iterable[AppointmentRecord]) -> ApplyResult:
    """Upsert `records` (one batch, one transaction) under the version guard described above."""
    newest: dict[int, AppointmentRecord] = {}
    older = 0
    for record in records:
        seen = newest.get(record.id)
        if seen is not None and record.source_updated_at < seen.source_updated_at:
            older += 1
            continue
        if seen is not None:
            older += 1  # the batch itself holds an older copy of this key; it loses
        newest[record.id] = record

    stored = Appointment.objects.select_for_update().in_bulk(list(newest))
    to_create: list[Appointment] = []
    to_update: list[Appointment] = []
    unchanged = 0
    for key, record in newest.items():
        row = stored.get(key)
        if row is None:
            to_create.append(_copy_into(Appointment(id=key), record))
        elif record.source_updated_at < row.source_updated_at:
            older += 1
        elif _same_content(row, record):
            unchanged += 1
        else:
            to_update.append(_copy_into(row, record))

    Appointment.objects.bulk_create(to_create, batch_size=500)
    Appointment.objects.bulk_update(to_update, _COPIED_FIELDS, batch_size=500)
    return ApplyResult(
        applied=len(to_create) + len(to_update), unchanged=unchanged, skipped_older=older
    )
