"""The patients service's side of sync: its `ServiceTarget` over the service's own models and
sinks (extracted.core.sync_target); reconcile compares its rows in the legacy form."""

from __future__ import annotations

from typing import Any

from domain.records.source_spec import Canonical, canonical
from extracted.core.sync_target import ServiceTarget
from extracted.patients.models import Outbox, Patient
from extracted.patients.services import (
    apply_legacy_patients,
    delete_legacy_patients,
    unique_holders,
)
from legacy_adapter.mapping.patients import PatientRecord, Sex
from legacy_adapter.sources import LegacySource


def sync_target(source: LegacySource) -> ServiceTarget:
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
        unique_holders=unique_holders,
        record_fields=fields,
        to_canonical=convert,
        record_type=record,
        outbox=Outbox,
    )
