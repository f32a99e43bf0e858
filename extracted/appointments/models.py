"""The appointments service's own model: clean names, aware datetimes, no legacy codes.

`id` is the legacy APPT_ID, deliberately not auto-generated: the legacy URL
`/api/appointments/{id}` keeps working whichever side serves it, and forward sync, reconcile
and rollback compare rows key for key. (When this service starts creating appointments, ids
will still come from the legacy LEGACY_SEQ through legacy_adapter, so both sides agree.)

There are no foreign keys: patient and provider records live in other services' databases (or still
in the legacy one), so `patient_id` and `provider_id` are plain integers, and the patient's
`LAST, FIRST` name is kept as a snapshot because the legacy contract returns it (PAT_NM).
`starts_at` is an `InstantField`, not a DateTimeField: see extracted/core/instant_field.py.
`source_updated_at` is the legacy UPD_TS (whole seconds, as legacy shows it); `sync_version` is
the version every apply compares against, in microseconds (docs/sync.md, "Versions").
"""

from __future__ import annotations

from django.db import models

from extracted.core.access_audit import AccessAuditEntry
from extracted.core.instant_field import InstantField
from extracted.core.outbox import OutboxEntry


class Appointment(models.Model):
    class Status(models.TextChoices):
        # Values are those of legacy_adapter.mapping.AppointmentStatus (a test keeps them equal).
        BOOKED = "booked", "Booked"
        CANCELLED = "cancelled", "Cancelled"
        NO_SHOW = "no_show", "No-show"
        ARRIVED = "arrived", "Arrived"

    id = models.IntegerField(primary_key=True, help_text="The legacy APPT_ID.")
    patient_id = models.IntegerField()
    patient_display_name = models.CharField(max_length=62, help_text="'LAST, FIRST' snapshot.")
    provider_id = models.IntegerField()
    # Microseconds since 1970 in the database (core.instant_field): every legacy wall time of
    # years 1-9999 in any zone is an instant here, also where UTC is year 0 or year 10000.
    starts_at = InstantField()
    duration_minutes = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices)
    reason = models.CharField(max_length=80, blank=True, default="")
    source_updated_at = models.DateTimeField(help_text="The legacy UPD_TS of this state.")
    sync_version = models.BigIntegerField(
        default=0, help_text="The version sync compares, in microseconds (docs/sync.md)."
    )

    class Meta:
        indexes = [
            # The legacy book view: one provider's day, in time order.
            models.Index(fields=["provider_id", "starts_at"], name="appt_provider_start_ix"),
            models.Index(fields=["patient_id"], name="appt_patient_ix"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(duration_minutes__gte=1, duration_minutes__lte=24 * 60),
                name="appt_duration_range",
            ),
        ]

    def __str__(self) -> str:
        # No PHI: this string can reach logs and error reports.
        return f"Appointment {self.pk}"


class Outbox(OutboxEntry):
    """Changes reverse sync must carry to the legacy APPT_SCHED (aggregate `appointment`)."""

    class Meta(OutboxEntry.Meta):
        db_table = "ficus_outbox"
        indexes = [models.Index(fields=["processed_at", "id"], name="appt_outbox_pending_ix")]


class AccessAudit(AccessAuditEntry):
    """Who read, searched or changed which appointment (shown to auditors only)."""

    class Meta(AccessAuditEntry.Meta):
        db_table = "ficus_access_audit"


class ProviderBookingLock(models.Model):
    """One row per provider, updated first by every write that can occupy the provider's slots.

    The slot check and the insert must not interleave with another booking for the same
    provider. Updating this row takes a row lock on PostgreSQL/MariaDB and SQLite's write lock
    before the check reads anything, on every backend alike (no advisory-lock dialects).
    """

    provider_id = models.IntegerField(primary_key=True)
    version = models.BigIntegerField(default=0)

    class Meta:
        db_table = "appointments_provider_lock"

    def __str__(self) -> str:
        return f"provider lock {self.pk}"
