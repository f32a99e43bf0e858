"""Read-only lookups in legacy tables the services do not own (yet): patient and provider rows.

The appointments service checks a booking the way the legacy app does (the patient and the
provider must exist) and keeps the patient's `LAST, FIRST` snapshot (PAT_NM). Those rows still
belong to the legacy database (or to another service), so it reads them here, through
SQLAlchemy Core, and never writes; it never imports another service either. A service write
also asks whether legacy has writes of the record that forward sync has not applied yet.
"""

from __future__ import annotations

from sqlalchemy import Engine, or_, select

from domain.records import format_person_name
from legacy_adapter.capture import FICUS_ORIGIN
from legacy_adapter.change_ops import OWNER_STATE, WRITE_OPS
from legacy_adapter.ficus_tables import change
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


def unapplied_legacy_writes(engine: Engine, table: str, key: int) -> bool:
    """Whether legacy has writes of this record that forward sync has not applied yet: pending
    change rows that are legacy writes (not echoes of Ficus's own) or an owner's state to put
    back. A service write made on top of a copy that misses them would overwrite them."""
    c = change.c
    with engine.connect() as conn:
        found = conn.execute(
            select(c.id)
            .where(
                c.tbl == table,
                c.pk == key,
                c.done_at_us.is_(None),
                c.op.in_((*WRITE_OPS, OWNER_STATE)),
                or_(c.origin.is_(None), c.origin != FICUS_ORIGIN),
            )
            .limit(1)
        ).first()
    return found is not None
