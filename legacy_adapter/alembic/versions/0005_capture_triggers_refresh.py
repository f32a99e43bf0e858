"""Install today's change-capture triggers (see capture.py): fan-out rows are `F` refreshes.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02

The same triggers as revision 0003, except the rows a PATIENT_MASTER change fans out to its
appointments: they are `F` (refresh the derived copy) and carry no origin, so a rename made
by the patients service (written to legacy by reverse sync, origin `ficus`) still reaches the
appointments service's copy of the name. Downgrading removes them
(`manage.py sync uninstall-capture`); the ficus_* tables stay.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from legacy_adapter.capture import install_statements, uninstall_statements

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in uninstall_statements(dialect) + install_statements(dialect, "0005"):
        op.execute(statement)


def downgrade() -> None:
    for statement in uninstall_statements(op.get_bind().dialect.name):
        op.execute(statement)
