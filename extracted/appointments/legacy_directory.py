"""The `LegacyDirectory` of a request: legacy patient and provider rows, and the APPT_ID counter.

Reads go through legacy_adapter's read-only lookups; ids through legacy_adapter.sequences, so
the service and the legacy app never hand out the same APPT_ID. A dry-run request must change
nothing anywhere, the legacy counter included, so it only peeks at the next id.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from legacy_adapter import lookups, sequences

APPT_SEQUENCE = "APPT_ID"


@dataclass(frozen=True, slots=True)
class SqlLegacyDirectory:
    engine: Engine
    dry_run: bool = False

    def patient_display_name(self, patient_id: int) -> str | None:
        return lookups.patient_display_name(self.engine, patient_id)

    def provider_exists(self, provider_id: int) -> bool:
        return lookups.provider_exists(self.engine, provider_id)

    def next_appointment_id(self) -> int:
        if self.dry_run:
            return sequences.peek_id(self.engine, APPT_SEQUENCE)
        return sequences.allocate_id(self.engine, APPT_SEQUENCE)
