"""Per-record sync: an index on each record's change rows, the conflict log and the workers'
reports; revision 0003's triggers are removed here and 0005 installs today's.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02

* `ix_ficus_change_key (tbl, pk)`: a record's version is the capture time of its newest
  legacy write (legacy_adapter/versions.py), and a service write waits for the record's
  unapplied legacy writes; both look a record's rows up by key.
* `ficus_conflict`: two writes of one record that sync chose between, or a refused write.
* `ficus_sync_report`: what each feature's sync worker last saw of the outbox backlog, for a
  control plane that has no service database.
* Revision 0003's triggers are dropped: 0005 installs their successors. Keeping tables and
  triggers in separate revisions lets `sync uninstall-capture` (a downgrade to 0004) remove
  the triggers and keep the conflict log, which auditors read.

Downgrading drops the tables and puts revision 0003's triggers back.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from legacy_adapter.alembic.frozen.capture_0003 import DROP, INSTALL

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _dialect() -> str:
    name = op.get_bind().dialect.name
    return "mysql" if name == "mariadb" else name


def upgrade() -> None:
    op.create_index("ix_ficus_change_key", "ficus_change", ["tbl", "pk"])
    op.create_table(
        "ficus_conflict",
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("feature", sa.String(length=40), nullable=False),
        sa.Column("tbl", sa.String(length=40), nullable=False),
        sa.Column("pk", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("winner", sa.String(length=8), nullable=False),
        sa.Column("loser", sa.String(length=8), nullable=False),
        sa.Column("winner_version", sa.BigInteger(), nullable=True),
        sa.Column("loser_version", sa.BigInteger(), nullable=False),
        sa.Column("owner", sa.String(length=8), nullable=False),
        sa.Column("rule", sa.String(length=12), nullable=False),
        sa.Column("detected_at_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ficus_conflict")),
        sa.UniqueConstraint(
            "tbl",
            "pk",
            "loser",
            "loser_version",
            name=op.f("uq_ficus_conflict_tbl_pk_loser_loser_version"),
        ),
    )
    op.create_index("ix_ficus_conflict_feature", "ficus_conflict", ["feature", "id"])
    op.create_table(
        "ficus_sync_report",
        sa.Column("feature", sa.String(length=40), nullable=False),
        sa.Column("worker", sa.String(length=64), nullable=False),
        sa.Column("reported_at_us", sa.BigInteger(), nullable=False),
        sa.Column("reverse_backlog", sa.BigInteger(), nullable=False),
        sa.Column("reverse_lag_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("feature", name=op.f("pk_ficus_sync_report")),
    )
    for statement in DROP[_dialect()]:
        op.execute(statement)


def downgrade() -> None:
    dialect = _dialect()
    for statement in DROP[dialect] + INSTALL[dialect]:
        op.execute(statement)
    op.drop_table("ficus_sync_report")
    op.drop_index("ix_ficus_conflict_feature", table_name="ficus_conflict")
    op.drop_table("ficus_conflict")
    op.drop_index("ix_ficus_change_key", table_name="ficus_change")
