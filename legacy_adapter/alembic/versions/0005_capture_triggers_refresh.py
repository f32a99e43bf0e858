"""Install the change-capture triggers with fan-out rows as `F` refreshes (as of 2026-12-02).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02

The same triggers as revision 0003, except the rows a PATIENT_MASTER change fans out to its
appointments: they are `F` (refresh the derived copy) and carry no origin, so a rename made
by the service that owns PATIENT_MASTER (written to legacy by reverse sync, origin `ficus`)
still reaches the appointments service's copy of the name.

Self-contained: its SQL is frozen in legacy_adapter/alembic/frozen/capture_0005.py. Since
then the set of capture triggers is reconciled by code against the plans' tables
(legacy_adapter/capture_reconcile.py, run after every upgrade to head), so a newly captured
table needs no revision. Downgrading (`manage.py sync uninstall-capture`) therefore drops
every Ficus capture trigger found in the database, not only the ones listed here; the
ficus_* tables stay.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op
from sqlalchemy import text

from legacy_adapter.alembic.frozen.capture_0005 import DROP, INSTALL

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Every capture trigger is named ficus_<table>_ai/_au/_ad (SQLite, MariaDB) or
# ficus_<table>_capture with its function ficus_capture_<table> (PostgreSQL).
_TRIGGER_SUFFIXES = ("_ai", "_au", "_ad", "_capture")


def _dialect() -> str:
    name = op.get_bind().dialect.name
    if name == "mariadb":
        name = "mysql"
    if name not in INSTALL:
        raise ValueError(f"change capture does not support the {name} dialect")
    return name


def upgrade() -> None:
    dialect = _dialect()
    for statement in DROP[dialect] + INSTALL[dialect]:
        op.execute(statement)


def _every_capture_trigger(dialect: str) -> list[str]:
    """The DROP statements of every Ficus capture trigger (and function) present."""
    bind = op.get_bind()
    if dialect == "sqlite":
        query = "SELECT name, tbl_name FROM sqlite_master WHERE type = 'trigger'"
    elif dialect == "mysql":
        query = (
            "SELECT TRIGGER_NAME, EVENT_OBJECT_TABLE FROM information_schema.TRIGGERS "
            "WHERE TRIGGER_SCHEMA = DATABASE()"
        )
    else:
        query = (
            "SELECT t.tgname, c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE NOT t.tgisinternal AND pg_table_is_visible(c.oid)"
        )
    statements: list[str] = []
    for name, table in bind.execute(text(query)).all():
        if not (name.startswith("ficus_") and name.endswith(_TRIGGER_SUFFIXES)):
            continue
        if dialect == "postgresql":
            statements.append(f'DROP TRIGGER IF EXISTS {name} ON "{table}"')
        else:
            statements.append(f"DROP TRIGGER IF EXISTS {name}")
    if dialect == "postgresql":
        functions = bind.execute(
            text(
                "SELECT p.proname FROM pg_proc p "
                "WHERE p.proname LIKE 'ficus\\_capture\\_%' AND pg_function_is_visible(p.oid)"
            )
        ).scalars()
        statements += [f"DROP FUNCTION IF EXISTS {function}()" for function in functions]
    return statements


def downgrade() -> None:
    dialect = _dialect()
    for statement in (*DROP[dialect], *_every_capture_trigger(dialect)):
        op.execute(statement)
