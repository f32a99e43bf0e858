"""The conflict rule, and the conflict log auditors read (`ficus_conflict`, `sync conflicts`).

The rule (docs/sync.md, "Conflicts"):
  1. Writes of one record are ordered by version (legacy_adapter/versions.py for legacy's,
     the service's clock for the service's, both in microseconds): the newest write wins on
     both sides. Equal versions go to the record's owner.
  2. A write made on the side that does not own the record, after ownership settled (another
     legacy module, a batch job or an interface engine writing a migrated record), follows the
     plan's `sync.non_owner_writes`: `newer_wins` treats it like any other write (rule 1);
     `owner_wins` refuses it: it is not applied, the owner's state is put back on the side
     that wrote, and the refusal is logged. Creating a record is always applied.
  3. Every write that lost (an older write one side never saw, or a refused one) is logged
     here once, however many times and from whichever side sync meets it: the log is unique
     on (table, key, losing side, losing version). It holds who won and why, never values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, insert, select
from sqlalchemy.dialects import mysql, postgresql, sqlite

from domain.ownership import FeatureOwnership, Owner
from domain.plan_model import NonOwnerWrites
from legacy_adapter.ficus_tables import conflict

CONCURRENT = "concurrent"  # two writes of one record; the older one lost
REFUSED = "refused"  # a non-owner's write refused by `owner_wins`


@dataclass(frozen=True, slots=True)
class Conflict:
    pk: int
    kind: str
    winner: Owner
    loser: Owner
    winner_version: int | None
    loser_version: int


def refuses(ownership: FeatureOwnership, key: int, *, writer: Owner, version: int) -> bool:
    """Rule 2: whether a write of `key` made by `writer` at `version` is refused (the caller
    has already excluded creates, which are always applied)."""
    return (
        ownership.non_owner_writes is NonOwnerWrites.OWNER_WINS
        and ownership.owner_of(key) is not writer
        and ownership.settled(version)
    )


def tie_goes_to(ownership: FeatureOwnership, key: int) -> Owner:
    """Rule 1's tie-break: equal versions go to the record's owner."""
    return ownership.owner_of(key)


def _insert_once(conn: Connection) -> Any:
    """An INSERT that skips a row the unique key already holds, in the backend's dialect."""
    name = conn.dialect.name
    if name == "postgresql":
        return postgresql.insert(conflict).on_conflict_do_nothing()
    if name == "sqlite":
        return sqlite.insert(conflict).on_conflict_do_nothing()
    if name in ("mysql", "mariadb"):
        return mysql.insert(conflict).prefix_with("IGNORE")
    return insert(conflict)


def record(
    conn: Connection,
    ownership: FeatureOwnership,
    *,
    table: str,
    conflicts: Sequence[Conflict],
    now_us: int,
) -> None:
    """Log `conflicts` in the transaction open on `conn` (each losing write once)."""
    if not conflicts:
        return
    conn.execute(
        _insert_once(conn),
        [
            {
                "feature": ownership.feature,
                "tbl": table,
                "pk": c.pk,
                "kind": c.kind,
                "winner": c.winner.value,
                "loser": c.loser.value,
                "winner_version": c.winner_version,
                "loser_version": c.loser_version,
                "owner": ownership.owner_of(c.pk).value,
                "rule": ownership.non_owner_writes.value,
                "detected_at_us": now_us,
            }
            for c in conflicts
        ],
    )


@dataclass(frozen=True, slots=True)
class LoggedConflict:
    feature: str
    tbl: str
    pk: int
    kind: str
    winner: str
    loser: str
    winner_version: int | None
    loser_version: int
    owner: str
    rule: str
    detected_at_us: int


def logged(engine: Engine, feature: str | None = None, *, limit: int = 100) -> list[LoggedConflict]:
    """The newest logged conflicts first (of one feature, or all)."""
    c = conflict.c
    query = select(
        c.feature, c.tbl, c.pk, c.kind, c.winner, c.loser, c.winner_version, c.loser_version,
        c.owner, c.rule, c.detected_at_us,
    ).order_by(c.id.desc()).limit(limit)  # fmt: skip
    if feature is not None:
        query = query.where(c.feature == feature)
    with engine.connect() as conn:
        return [LoggedConflict(*row) for row in conn.execute(query)]
