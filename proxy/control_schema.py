"""The control-plane tables the proxy touches, as SQLAlchemy Core `Table`s (contract C2).

The control plane owns them (Django models and migrations in `migration_plans`); the proxy reads
`ficus_control_generation` and `ficus_route_state` and appends to `ficus_route_stats` and the
shadow evidence tables with SQLAlchemy Core, so the proxy process never loads Django. Only the
columns the proxy uses are named, with the contract's names and types; `create_all` on this
metadata is for tests and throwaway databases only (a deployment migrates with `manage.py migrate`).
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata: Final = MetaData()
# SQLite autoincrements only an INTEGER PRIMARY KEY.
_BIG_ID: Final = BigInteger().with_variant(Integer(), "sqlite")

generation_table: Final = Table(
    "ficus_control_generation",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("generation", BigInteger, nullable=False),
    Column("changed_at", DateTime(timezone=True), nullable=False),
)

route_state_table: Final = Table(
    "ficus_route_state",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("feature", String(40), nullable=False),
    Column("method", String(10), nullable=False),
    Column("template", String(200), nullable=False),
    Column("phase", String(10), nullable=False),
    Column("weight", SmallInteger, nullable=False),
    Column("since", DateTime(timezone=True), nullable=False),
    Column("actor", String(150), nullable=False),
    UniqueConstraint("method", "template"),
)

route_stats_table: Final = Table(
    "ficus_route_stats",
    metadata,
    Column("id", _BIG_ID, primary_key=True),
    Column("worker", String(64), nullable=False),
    Column("feature", String(40), nullable=False),
    Column("method", String(10), nullable=False),
    Column("template", String(200), nullable=False),
    Column("side", String(8), nullable=False),
    Column("window_start", DateTime(timezone=True), nullable=False),
    Column("requests", Integer, nullable=False),
    Column("errors", Integer, nullable=False),
    Column("latency_buckets", Text, nullable=False),
)

# Shadow evidence (`proxy.evidence_store`): per-worker comparison tallies per 10 s window, and
# de-identified samples of differing fields.
evidence_tally_table: Final = Table(
    "ficus_evidence_tally",
    metadata,
    Column("id", _BIG_ID, primary_key=True),
    Column("worker", String(64), nullable=False),
    Column("feature", String(40), nullable=False),
    Column("method", String(10), nullable=False),
    Column("template", String(200), nullable=False),
    Column("window_start", DateTime(timezone=True), nullable=False),
    Column("tally", Text, nullable=False),
)

evidence_sample_table: Final = Table(
    "ficus_evidence_sample",
    metadata,
    Column("id", _BIG_ID, primary_key=True),
    Column("feature", String(40), nullable=False),
    Column("method", String(10), nullable=False),
    Column("template", String(200), nullable=False),
    Column("field", String(200), nullable=False),
    Column("kind", String(8), nullable=False),
    Column("legacy_value", Text, nullable=False),
    Column("other_value", Text, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
)
