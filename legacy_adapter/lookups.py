"""Read-only lookups in legacy tables the services do not own (yet): patients and providers.

The appointments service checks a booking the way the legacy app does (the patient and the
provider must exist) and keeps the patient's `LAST, FIRST` snapshot (PAT_NM). Those rows still
belong to the legacy database (or to another service), so it reads them here, through
SQLAlchemy Core, and never writes; it never imports another service either.
"""

from __future__ import annotations

from sqlalchemy import Engine, select

from legacy_adapter.mapping import format_person_name
from legacy_adapter.schema import PatientMaster, Provider


def patient_display_name(engine: Engine, pat_id: int) -> str | None:
    """PAT_NM as the legacy app builds it, or None when there is no such patient."""
    with engine.connect() as conn:
        row = conn.execute(
            select(PatientMaster.LAST_NM, PatientMaster.FIRST_NM).where(
                PatientMaster.PAT_ID == pat_id
            )
        ).first()
    return None if row is None else format_person_name(row.LAST_NM, row.FIRST_NM)


def provider_exists(engine: Engine, prov_id: int) -> bool:
    with engine.connect() as conn:
        found = conn.execute(select(Provider.PROV_ID).where(Provider.PROV_ID == prov_id)).first()
    return found is not None
