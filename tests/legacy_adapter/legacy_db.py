"""Helpers for tests that need a legacy database: the real legacy DDL and a few rows.

The schema is created by the legacy app's own DDL (demo/legacy/ddl.py), not by Ficus's models,
so what Alembic and the copier meet is exactly what the legacy app created on that backend
(bare UPPER_CASE names, which PostgreSQL folds to lower case).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, insert, inspect

from demo.legacy import ddl
from legacy_adapter.schema import ApptSched, PatientMaster


def create_legacy_schema(engine: Engine) -> None:
    with engine.begin() as conn:
        ddl.create_schema(conn)


def add_patient(engine: Engine, pat_id: int, last: str = "DOE", first: str = "JANE") -> None:
    values = {
        "PAT_ID": pat_id,
        "MRN": f"M{pat_id:07d}",
        "LAST_NM": last,
        "FIRST_NM": first,
        "DOB": "19800101",
        "SEX_CD": "F",
        "UPD_TS": "20260101000000",
    }
    with engine.begin() as conn:
        conn.execute(insert(PatientMaster.__table__), values)  # type: ignore[arg-type]


def appointment_row(appt_id: int, **changes: Any) -> dict[str, Any]:
    base = {
        "APPT_ID": appt_id,
        "PAT_ID": 1,
        "PROV_ID": 3,
        "APPT_DT": "20261121",
        "APPT_TM": "0930",
        "DUR_MIN": 15,
        "STATUS_CD": "B",
        "REASON_TXT": "FOLLOW UP",
        "UPD_TS": "20261120083000",
    }
    return {**base, **changes}


def add_appointments(engine: Engine, rows: list[dict[str, Any]]) -> None:
    with engine.begin() as conn:
        conn.execute(insert(ApptSched.__table__), rows)  # type: ignore[arg-type]


def table_shapes(engine: Engine) -> dict[str, Any]:
    """Every table's columns and indexes as plain data, for before/after comparisons."""
    inspector = inspect(engine)
    shapes = {}
    for table in inspector.get_table_names():
        columns = [(c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(table)]
        indexes = sorted(
            (i["name"] or "", tuple(i["column_names"]), bool(i["unique"]))
            for i in inspector.get_indexes(table)
        )
        shapes[table] = (
            columns,
            indexes,
            inspector.get_pk_constraint(table)["constrained_columns"],
        )
    return shapes
