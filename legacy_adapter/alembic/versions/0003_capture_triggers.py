"""Install the change-capture triggers on APPT_SCHED and PATIENT_MASTER (as of 2026-11-21).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21

Triggers are the one thing Ficus adds *on* a legacy table: they change no column, index or
row of it, only append to ficus_change. Downgrading this revision removes them all again
(`manage.py sync uninstall-capture`).

Self-contained: its SQL is frozen in legacy_adapter/alembic/frozen/capture_0003.py, never read
from capture.py, so changing today's capture cannot change what this applied revision did.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from legacy_adapter.alembic.frozen.capture_0003 import DROP, INSTALL

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


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


def downgrade() -> None:
    for statement in DROP[_dialect()]:
        op.execute(statement)
