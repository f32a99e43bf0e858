"""The tables Ficus owns inside the legacy database: lower-case, `ficus_` prefixed, Core only.

They are the `target_metadata` of the Alembic environment in legacy_adapter/alembic/, which
compares this metadata, and nothing else, with the database: the legacy tables (schema.py) are
a separate MetaData that Alembic never sees as a target, and `include_object` hides them when
they are reflected. Lower-case names need no quoting on any backend, unlike the legacy ones.

Today there is one table; change capture (triggers and change rows), the dead-letter table and
the reverse-sync outbox bookkeeping arrive with later issues, each as a new Alembic revision.
"""

from __future__ import annotations

from sqlalchemy import CHAR, BigInteger, Column, DateTime, MetaData, String, Table

from legacy_adapter.schema import is_legacy_table

FICUS_TABLE_PREFIX = "ficus_"
# Even Alembic's bookkeeping table is ours by name, so "Ficus only adds ficus_* tables" holds.
VERSION_TABLE = "ficus_alembic_version"

ficus_metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# Where each copy stream of each feature has got to. One row per (feature, direction, stream):
#   stream "backfill": `last_key` is the highest legacy key copied by the pass in progress
#     (state "running"), or of the last finished one (state "done"); `watermark` is MAX(UPD_TS)
#     when that pass started, handed to the incremental stream when the pass finishes.
#   stream "incremental": `watermark` is the highest UPD_TS applied so far; the next pass
#     re-reads from a little before it (see forward_copy.py).
sync_checkpoint = Table(
    "ficus_sync_checkpoint",
    ficus_metadata,
    Column("feature", String(40), primary_key=True),
    Column("direction", String(10), primary_key=True),
    Column("stream", String(12), primary_key=True),
    Column("state", String(12), nullable=False),
    Column("last_key", BigInteger, nullable=True),
    Column("watermark", CHAR(14), nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)


def is_ficus_table(name: str) -> bool:
    return name.lower().startswith(FICUS_TABLE_PREFIX)


def include_object(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object | None
) -> bool:
    """Alembic's filter: compare only what Ficus owns.

    Legacy tables are never compared (so autogenerate can never propose to alter or drop one),
    whatever case the database reports their names in. Other reflected tables that are not in
    our metadata and not `ficus_*` (a DBA's scratch table, another tool's) are left alone too;
    a reflected `ficus_*` table missing from the metadata *is* reported, because it is ours.
    """
    if type_ != "table" or name is None:
        return True
    if is_legacy_table(name):
        return False
    return not (reflected and compare_to is None and not is_ficus_table(name))
