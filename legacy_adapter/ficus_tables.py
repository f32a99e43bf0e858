"""The tables Ficus owns inside the legacy database: lower-case, `ficus_` prefixed, Core only.

They are the `target_metadata` of the Alembic environment in legacy_adapter/alembic/, which
compares this metadata, and nothing else, with the database: the legacy tables (schema.py) are
a separate MetaData that Alembic never sees as a target, and `include_object` hides them when
they are reflected. Lower-case names need no quoting on any backend, unlike the legacy ones.

Besides the copy checkpoints there are the change-capture tables (revision 0002; the triggers
that fill them are revision 0003, see capture.py), the dead letters and the reconcile history.
Times written by triggers are integer microseconds since the epoch (`*_us`): every backend can
compute them in a trigger, and integers compare the same everywhere.
"""

from __future__ import annotations

from sqlalchemy import (
    CHAR,
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

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

# SQLite needs INTEGER (not BIGINT) for an auto-incrementing rowid key.
_BigId = BigInteger().with_variant(Integer, "sqlite")

# One row per captured change, written by the triggers in the writer's own transaction. A row
# means "this key changed": appliers read the current row (state-based), so the row carries no
# values. `origin` is the applier's marker (NULL for the legacy app's own writes): rows that
# carry it are echoes of Ficus's writes and are skipped. `done_at_us` is set only after the
# target committed. AUTOINCREMENT on SQLite: ids are never reused after pruning, so an id
# recorded as applied on the target can never stand for a different, later change.
change = Table(
    "ficus_change",
    ficus_metadata,
    Column("id", _BigId, primary_key=True, autoincrement=True),
    Column("tbl", String(40), nullable=False),
    Column("pk", BigInteger, nullable=False),
    Column("op", CHAR(1), nullable=False),
    Column("origin", String(20), nullable=True),
    Column("txid", BigInteger, nullable=True),
    Column("created_at_us", BigInteger, nullable=False),
    Column("claimed_by", String(64), nullable=True),
    Column("claimed_at_us", BigInteger, nullable=True),
    Column("done_at_us", BigInteger, nullable=True),
    Index("ix_ficus_change_pending", "done_at_us", "id"),
    # A record's own rows: its version (legacy_adapter.versions) and its unapplied writes.
    Index("ix_ficus_change_key", "tbl", "pk"),
    sqlite_autoincrement=True,
)

# The SQLite origin marker: SQLite has no session variables and its triggers cannot call a
# function the legacy app's connections lack, but it has one writer at a time, so a row the
# applier inserts and deletes inside its own write transaction is seen by exactly its triggers.
origin_marker = Table(
    "ficus_origin",
    ficus_metadata,
    Column("marker", String(20), primary_key=True),
)

# A key whose row cannot be mapped or is refused by the service: one row per (direction, tbl,
# pk), open while `resolved_at_us` is NULL. Only that key waits; every other key flows.
dead_letter = Table(
    "ficus_dead_letter",
    ficus_metadata,
    Column("id", _BigId, primary_key=True, autoincrement=True),
    Column("feature", String(40), nullable=False),
    Column("direction", String(10), nullable=False),
    Column("tbl", String(40), nullable=False),
    Column("pk", BigInteger, nullable=False),
    Column("change_id", BigInteger, nullable=True),
    Column("reason", String(500), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("first_seen_us", BigInteger, nullable=False),
    Column("last_seen_us", BigInteger, nullable=False),
    Column("resolved_at_us", BigInteger, nullable=True),
    UniqueConstraint("direction", "tbl", "pk"),
)

# Two writes of one record that sync had to choose between, or a write it refused (the plan's
# `sync.non_owner_writes: owner_wins`), for operators and auditors (`sync conflicts`). One row
# per losing write: `loser_version` is that write's version (microseconds), so seeing the same
# conflict from both directions records it once. No values, only which write won and why.
conflict = Table(
    "ficus_conflict",
    ficus_metadata,
    Column("id", _BigId, primary_key=True, autoincrement=True),
    Column("feature", String(40), nullable=False),
    Column("tbl", String(40), nullable=False),
    Column("pk", BigInteger, nullable=False),
    Column("kind", String(12), nullable=False),  # concurrent | refused
    Column("winner", String(8), nullable=False),  # legacy | service
    Column("loser", String(8), nullable=False),
    Column("winner_version", BigInteger, nullable=True),
    Column("loser_version", BigInteger, nullable=False),
    Column("owner", String(8), nullable=False),  # who owned the record when it was decided
    Column("rule", String(12), nullable=False),  # the plan's sync.non_owner_writes
    Column("detected_at_us", BigInteger, nullable=False),
    UniqueConstraint("tbl", "pk", "loser", "loser_version"),
    Index("ix_ficus_conflict_feature", "feature", "id"),
)

# What each feature's sync worker last saw of the services' side (the outbox backlog), so a
# control-plane process that has no service database can still gate a rollback on it.
sync_report = Table(
    "ficus_sync_report",
    ficus_metadata,
    Column("feature", String(40), primary_key=True),
    Column("worker", String(64), nullable=False),
    Column("reported_at_us", BigInteger, nullable=False),
    Column("reverse_backlog", BigInteger, nullable=False),
    Column("reverse_lag_us", BigInteger, nullable=False),
)

# Every reconcile run, for `sync status` and the gates' `drift_rows` evidence.
reconcile_run = Table(
    "ficus_reconcile_run",
    ficus_metadata,
    Column("id", _BigId, primary_key=True, autoincrement=True),
    Column("feature", String(40), nullable=False),
    Column("started_at_us", BigInteger, nullable=False),
    Column("finished_at_us", BigInteger, nullable=False),
    Column("compared", BigInteger, nullable=False),
    Column("drift_rows", BigInteger, nullable=False),
    Column("repaired", BigInteger, nullable=False),
    Column("detail", Text, nullable=False),
    Index("ix_ficus_reconcile_run_feature", "feature", "id"),
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
