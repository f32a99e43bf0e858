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
exactly-once effect). The statements themselves are the shared `extracted.core.sink` (one
version read per batch, then prepared UPDATE/INSERT through executemany).
`delete_legacy_appointments` removes the copies whose legacy rows are gone (state-based, no
version to compare: the row no longer exists).

`book_appointment`, `reschedule_appointment` and `cancel_appointment` are the clinical writes of
the service's own faces. Each first asks its `WriteGuard` (extracted.core.write_guard) whether the
service owns the record and has every legacy write of it: a write the service does not own is
refused before anything is written, on every face. Each runs in one transaction of the service
database that also holds its outbox row (aggregate `appointment`, for reverse sync) and its
access-audit row, and each follows the legacy app's rules in the legacy app's order: the patient
must exist, then the provider, then the slot must be free (overlap with a booked or arrived
appointment of the same provider on the same local day), and only then is an id taken from
LEGACY_SEQ. A write first updates the provider's `ProviderBookingLock` row, so two bookings for one
provider serialize on every backend instead of both passing the slot check. Every write stamps
`source_updated_at` (whole seconds, like UPD_TS) and moves `sync_version` forward, so sync's
version guard orders it by the clock, to the microsecond (never ahead of it: a burst of edits in
one second no longer pushes the version into the future). What lies outside this database (the
legacy patient/provider rows and the id counter) comes in through a `LegacyDirectory`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F

from domain.identity import Identity
from domain.records import LocalDateTimeCodec
from extracted.appointments.models import AccessAudit, Appointment, Outbox, ProviderBookingLock
from extracted.core import access_audit
from extracted.core.calendar_ends import shifted
from extracted.core.legacy_constraints import check_legacy_can_hold
from extracted.core.outbox import record_change
from extracted.core.sink import ApplyResult, VersionedTable
from extracted.core.versions import next_version
from extracted.core.write_guard import WriteGuard
from legacy_adapter.change_ops import OUTBOX_UPSERT
from legacy_adapter.mapping.appointments import AppointmentRecord, appointment_mapping

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


# The patient's name is another feature's data, kept current in legacy by its own sync.
_SINK = VersionedTable(
    Appointment, _COPIED_FIELDS, using=APPOINTMENTS_DB, derived=("patient_display_name",)
)


@transaction.atomic(using=APPOINTMENTS_DB)
def apply_legacy_appointments(
    *,
    records: Iterable[AppointmentRecord],
    versions: Mapping[int, int] | None = None,
    force: bool = False,
    resolution_us: int = 1,
    service_wins_ties: frozenset[int] = frozenset(),
) -> ApplyResult:
    """Upsert `records` (one batch, one transaction) under the version guard described above
    (`versions`: each record's version in microseconds; `force`: an owner's state put back;
    ties at the legacy clock's resolution go to the service for `service_wins_ties`)."""
    return _SINK.upsert(
        records,
        versions=versions,
        force=force,
        resolution_us=resolution_us,
        service_wins_ties=service_wins_ties,
    )


def unique_holders(records: Iterable[AppointmentRecord]) -> set[int]:
    """Appointments have no unique field besides the key: nothing can block a batch."""
    return _SINK.unique_holders(records)


@transaction.atomic(using=APPOINTMENTS_DB)
def delete_legacy_appointments(*, ids: Iterable[int]) -> int:
    """Delete the copies of appointments whose legacy rows are gone; returns how many went."""
    return _SINK.delete(ids)


AGGREGATE = "appointment"
_OCCUPYING = (Appointment.Status.BOOKED, Appointment.Status.ARRIVED)


class BookingError(Exception):
    """A write the legacy rules refuse; the legacy face maps each subclass to its error body."""


class AppointmentNotFoundError(BookingError):
    pass


class UnknownPatientError(BookingError):
    pass


class UnknownProviderError(BookingError):
    pass


class SlotTakenError(BookingError):
    pass


class AlreadyCancelledError(BookingError):
    pass


class LegacyDirectory(Protocol):
    """What a booking needs from outside the service database (see legacy_directory.py)."""

    def patient_display_name(self, patient_id: int) -> str | None: ...

    def provider_exists(self, provider_id: int) -> bool: ...

    def next_appointment_id(self) -> int: ...


def _hospital_zone() -> ZoneInfo:
    return ZoneInfo(settings.FICUS_HOSPITAL_TZ)


def _codec() -> LocalDateTimeCodec:
    return LocalDateTimeCodec(_hospital_zone())


def _minutes(hhmm: str) -> int:
    return int(hhmm[:2]) * 60 + int(hhmm[2:])


def _stamp(appointment: Appointment, now: datetime) -> None:
    """Stamp a service write: UPD_TS is `now` to the second, as legacy stamps it; the version
    is `now` in microseconds, after the one before (see `extracted.core.versions`)."""
    appointment.source_updated_at = now.replace(microsecond=0)
    appointment.sync_version = next_version(appointment.sync_version, now)


def _lock_provider(provider_id: int) -> None:
    locks = ProviderBookingLock.objects.using(APPOINTMENTS_DB)
    if locks.filter(pk=provider_id).update(version=F("version") + 1):
        return
    try:
        with transaction.atomic(using=APPOINTMENTS_DB):
            locks.create(provider_id=provider_id, version=1)
    except IntegrityError:
        # Another writer created it first and holds it now: wait for it like any other.
        locks.filter(pk=provider_id).update(version=F("version") + 1)


def _check_slot(
    provider_id: int, starts_at: datetime, duration: int, *, ignore_id: int | None
) -> None:
    """SlotTakenError if [start, start + duration) meets a B/A appointment that local day.

    The legacy rule compares wall-clock minutes within one APPT_DT, so this does the same on
    the local date and time of each candidate (a generous UTC window, then the exact filter).
    """
    codec = _codec()
    day, hhmm = codec.encode(starts_at)
    start = _minutes(hhmm)
    end = start + duration
    candidates = Appointment.objects.filter(
        provider_id=provider_id,
        status__in=_OCCUPYING,
        starts_at__gte=shifted(starts_at, -timedelta(days=1)),
        starts_at__lte=shifted(starts_at, timedelta(days=1)),
    )
    if ignore_id is not None:
        candidates = candidates.exclude(pk=ignore_id)
    for other in candidates:
        other_day, other_hhmm = codec.encode(other.starts_at)
        if other_day != day:
            continue
        other_start = _minutes(other_hhmm)
        if start < other_start + other.duration_minutes and other_start < end:
            raise SlotTakenError


def _record(appointment: Appointment, actor: Identity, action: str) -> None:
    record_change(
        Outbox,
        aggregate=AGGREGATE,
        key=appointment.pk,
        operation=OUTBOX_UPSERT,
        request_id=actor.request_id,
    )
    access_audit.record_access(AccessAudit, actor, action, AGGREGATE, appointment.pk)


@transaction.atomic(using=APPOINTMENTS_DB)
def book_appointment(
    *,
    directory: LegacyDirectory,
    patient_id: int,
    provider_id: int,
    starts_at: datetime,
    duration_minutes: int,
    reason: str,
    actor: Identity,
    now: datetime,
    guard: WriteGuard,
) -> Appointment:
    """Book a new appointment (status booked) with an id from LEGACY_SEQ; refused (after the
    id is drawn, which then stays unused) when the new record is not the service's to own."""
    _check_legacy_can_hold(starts_at=starts_at, reason=reason)
    guard.check_may_create()
    patient_name = directory.patient_display_name(patient_id)
    if patient_name is None:
        raise UnknownPatientError
    if not directory.provider_exists(provider_id):
        raise UnknownProviderError
    _lock_provider(provider_id)
    _check_slot(provider_id, starts_at, duration_minutes, ignore_id=None)
    new_id = directory.next_appointment_id()
    guard.check_owner(new_id)
    appointment = Appointment(
        id=new_id,
        patient_id=patient_id,
        patient_display_name=patient_name,
        provider_id=provider_id,
        starts_at=starts_at,
        duration_minutes=duration_minutes,
        status=Appointment.Status.BOOKED,
        reason=reason,
    )
    _stamp(appointment, now)
    appointment.save(using=APPOINTMENTS_DB, force_insert=True)
    _record(appointment, actor, access_audit.CREATE)
    return appointment


def _check_legacy_can_hold(*, starts_at: datetime, reason: str | None) -> None:
    """APPT_DT/APPT_TM and REASON_TXT as reverse sync will write them (core.legacy_constraints)."""
    values: dict[str, object] = {"starts_at": starts_at}
    if reason is not None:
        values["reason"] = reason
    check_legacy_can_hold(appointment_mapping(_hospital_zone()), values)


def _locked(appointment_id: int) -> Appointment:
    found = Appointment.objects.select_for_update().filter(pk=appointment_id).first()
    if found is None:
        raise AppointmentNotFoundError
    if found.status == Appointment.Status.CANCELLED:
        raise AlreadyCancelledError
    return found


@transaction.atomic(using=APPOINTMENTS_DB)
def reschedule_appointment(
    *,
    directory: LegacyDirectory,
    appointment_id: int,
    starts_at: datetime,
    duration_minutes: int | None,
    provider_id: int | None,
    reason: str | None,
    actor: Identity,
    now: datetime,
    guard: WriteGuard,
) -> Appointment:
    """Move an appointment; None keeps the current duration, provider or reason."""
    _check_legacy_can_hold(starts_at=starts_at, reason=reason)
    guard.check_owner(appointment_id)
    guard.wait_for_legacy(appointment_id)
    appointment = _locked(appointment_id)
    # As legacy: only a provider the request names must exist.
    if provider_id is not None and not directory.provider_exists(provider_id):
        raise UnknownProviderError
    new_provider = appointment.provider_id if provider_id is None else provider_id
    new_duration = appointment.duration_minutes if duration_minutes is None else duration_minutes
    _lock_provider(new_provider)
    _check_slot(new_provider, starts_at, new_duration, ignore_id=appointment.pk)
    appointment.provider_id = new_provider
    appointment.starts_at = starts_at
    appointment.duration_minutes = new_duration
    if reason is not None:
        appointment.reason = reason
    _stamp(appointment, now)
    appointment.save(using=APPOINTMENTS_DB)
    _record(appointment, actor, access_audit.UPDATE)
    return appointment


@transaction.atomic(using=APPOINTMENTS_DB)
def cancel_appointment(
    *, appointment_id: int, actor: Identity, now: datetime, guard: WriteGuard
) -> Appointment:
    guard.check_owner(appointment_id)
    guard.wait_for_legacy(appointment_id)
    appointment = _locked(appointment_id)
    appointment.status = Appointment.Status.CANCELLED
    _stamp(appointment, now)
    appointment.save(
        using=APPOINTMENTS_DB, update_fields=["status", "source_updated_at", "sync_version"]
    )
    _record(appointment, actor, access_audit.CANCEL)
    return appointment
