"""Create ficus_sync_checkpoint: how far each copy stream of each feature has got.

Revision ID: 0001
Revises:
Create Date: 2026-11-21

Ficus owns only `ficus_*` tables in the legacy database: never touch a legacy table here.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ficus_sync_checkpoint",
        sa.Column("feature", sa.String(length=40), nullable=False),
        sa.Column("direction", sa.String(length=10), nullable=False),
        sa.Column("stream", sa.String(length=12), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("last_key", sa.BigInteger(), nullable=True),
        sa.Column("watermark", sa.CHAR(length=14), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "feature", "direction", "stream", name=op.f("pk_ficus_sync_checkpoint")
        ),
    )


def downgrade() -> None:
    op.drop_table("ficus_sync_checkpoint")
