"""Install the change-capture triggers on the captured legacy tables (see capture.py).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21

Triggers are the one thing Ficus adds *on* a legacy table: they change no column, index or
row of it, only append to ficus_change. Downgrading this revision removes them all again
(`manage.py sync uninstall-capture`).
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from legacy_adapter.capture import install_statements, uninstall_statements

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in uninstall_statements(dialect) + install_statements(dialect, "0003"):
        op.execute(statement)


def downgrade() -> None:
    for statement in uninstall_statements(op.get_bind().dialect.name):
        op.execute(statement)
