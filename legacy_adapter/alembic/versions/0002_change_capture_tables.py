"""Create the change-capture tables: ficus_change, ficus_origin, ficus_dead_letter and
ficus_reconcile_run (the triggers that fill ficus_change are revision 0003).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21

Ficus owns only `ficus_*` tables in the legacy database: never touch a legacy table here.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "ficus_change",
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("tbl", sa.String(length=40), nullable=False),
        sa.Column("pk", sa.BigInteger(), nullable=False),
        sa.Column("op", sa.CHAR(length=1), nullable=False),
        sa.Column("origin", sa.String(length=20), nullable=True),
        sa.Column("txid", sa.BigInteger(), nullable=True),
        sa.Column("created_at_us", sa.BigInteger(), nullable=False),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("claimed_at_us", sa.BigInteger(), nullable=True),
        sa.Column("done_at_us", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ficus_change")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_ficus_change_pending", "ficus_change", ["done_at_us", "id"])
    op.create_table(
        "ficus_origin",
        sa.Column("marker", sa.String(length=20), nullable=False),
        sa.PrimaryKeyConstraint("marker", name=op.f("pk_ficus_origin")),
    )
    op.create_table(
        "ficus_dead_letter",
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("feature", sa.String(length=40), nullable=False),
        sa.Column("direction", sa.String(length=10), nullable=False),
        sa.Column("tbl", sa.String(length=40), nullable=False),
        sa.Column("pk", sa.BigInteger(), nullable=False),
        sa.Column("change_id", sa.BigInteger(), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("first_seen_us", sa.BigInteger(), nullable=False),
        sa.Column("last_seen_us", sa.BigInteger(), nullable=False),
        sa.Column("resolved_at_us", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ficus_dead_letter")),
        sa.UniqueConstraint(
            "direction", "tbl", "pk", name=op.f("uq_ficus_dead_letter_direction_tbl_pk")
        ),
    )
    op.create_table(
        "ficus_reconcile_run",
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("feature", sa.String(length=40), nullable=False),
        sa.Column("started_at_us", sa.BigInteger(), nullable=False),
        sa.Column("finished_at_us", sa.BigInteger(), nullable=False),
        sa.Column("compared", sa.BigInteger(), nullable=False),
        sa.Column("drift_rows", sa.BigInteger(), nullable=False),
        sa.Column("repaired", sa.BigInteger(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ficus_reconcile_run")),
    )
    op.create_index(
        "ix_ficus_reconcile_run_feature", "ficus_reconcile_run", ["feature", "id"]
    )


def downgrade() -> None:
    op.drop_table("ficus_reconcile_run")
    op.drop_table("ficus_dead_letter")
    op.drop_table("ficus_origin")
    op.drop_table("ficus_change")
