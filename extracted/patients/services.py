"""Writes of the patients service: every change to its database goes through here.

Three writers:
* `update_patient` (the legacy PUT and /v2 PATCH): changes demographics, stamps
  `source_updated_at` with the current second (the legacy UPD_TS resolution), moves
  `sync_version` forward (the clock in microseconds, `extracted.core.versions`) and adds the
  outbox row (aggregate `patient`) and the access-audit row in the *same* transaction, so the
  change, its reverse-sync notice and its audit trail are committed together or not at all.
* `apply_legacy_patients` (the forward-sync sink): upserts records mapped from PATIENT_MASTER
  under the same version guard as `apply_legacy_appointments` (DESIGN.md §5, G2/G3): older
  records are skipped, same-version same-content is a replay, same version with different
  content is applied (the reader maps the current row), newer is applied. Existing rows are
  locked first. Forward-sync writes add no outbox row: they come *from* legacy, and echoing
  them back is what G4 forbids. The statements are the shared `extracted.core.sink`; every
  value goes through its field's `get_db_prep_value`, so `ssn`, `phone` and `address_line`
  are encrypted exactly as `save()` would encrypt them.
* `delete_legacy_patients` (forward sync): removes copies whose legacy rows are gone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from django.db import transaction

from domain.identity import Identity
from extracted.core.access_audit import UPDATE, record_access
from extracted.core.legacy_constraints import check_legacy_can_hold
from extracted.core.outbox import record_change
from extracted.core.sink import ApplyResult, VersionedTable
from extracted.core.versions import next_version
from extracted.core.write_guard import WriteGuard
from extracted.patients.models import AccessAudit, Outbox, Patient
from legacy_adapter.change_ops import OUTBOX_UPSERT
from legacy_adapter.mapping.patients import PATIENT_MAPPING, PatientRecord

PATIENTS_DB = "patients"
AGGREGATE = "patient"
# What a demographics update may change; identity fields (MRN, DOB, sex, SSN) are not among them.
EDITABLE_FIELDS = (
    "phone",
    "address_line",
    "city",
    "state",
    "postal_code",
    "family_name",
    "given_name",
)
_COPIED_FIELDS = (
    "mrn",
    "family_name",
    "given_name",
    "birth_date",
    "sex",
    "ssn",
    "phone",
    "address_line",
    "city",
    "state",
    "postal_code",
    "source_updated_at",
)


class PatientNotFoundError(LookupError):
    pass


@transaction.atomic(using=PATIENTS_DB)
def update_patient(
    *,
    patient_id: int,
    changes: Mapping[str, str],
    identity: Identity,
    now: datetime,
    guard: WriteGuard,
) -> Patient:
    """Apply `changes` (clean field names from EDITABLE_FIELDS) to one patient, if every value
    fits its legacy column (core.legacy_constraints) and the service owns the record and has every
    legacy write of it (`guard`, extracted.core.write_guard)."""
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    check_legacy_can_hold(PATIENT_MAPPING, changes)
    guard.check_owner(patient_id)
    guard.wait_for_legacy(patient_id)
    patient = Patient.objects.select_for_update().filter(pk=patient_id).first()
    if patient is None:
        raise PatientNotFoundError(patient_id)
    for name, value in changes.items():
        setattr(patient, name, value)
    patient.source_updated_at = now.replace(microsecond=0)
    patient.sync_version = next_version(patient.sync_version, now)
    patient.save()
    record_change(
        Outbox,
        aggregate=AGGREGATE,
        key=patient.pk,
        operation=OUTBOX_UPSERT,
        request_id=identity.request_id,
    )
    record_access(AccessAudit, identity, UPDATE, AGGREGATE, patient.pk)
    return patient


_SINK = VersionedTable(Patient, _COPIED_FIELDS, using=PATIENTS_DB)


@transaction.atomic(using=PATIENTS_DB)
def apply_legacy_patients(
    *,
    records: Iterable[PatientRecord],
    versions: Mapping[int, int] | None = None,
    force: bool = False,
    resolution_us: int = 1,
    service_wins_ties: frozenset[int] = frozenset(),
) -> ApplyResult:
    """Upsert `records` (one batch, one transaction) under the version guard described above
    (`versions`: each record's version in microseconds; `force`: an owner's state put back;
    ties at the legacy clock's resolution go to the service for `service_wins_ties`).
    MRNs that move between patients in the batch (a swap) are parked first (core.sink)."""
    return _SINK.upsert(
        records,
        versions=versions,
        force=force,
        resolution_us=resolution_us,
        service_wins_ties=service_wins_ties,
    )


def unique_holders(records: Iterable[PatientRecord]) -> set[int]:
    """Patients outside `records` holding an MRN one of them takes (the other half of a swap)."""
    return _SINK.unique_holders(records)


@transaction.atomic(using=PATIENTS_DB)
def delete_legacy_patients(*, ids: Iterable[int]) -> int:
    """Delete the copies of patients whose legacy rows are gone; returns how many went."""
    return _SINK.delete(ids)
