"""The version of a record's current state in the legacy database, in microseconds.

Sync orders the writes of one record by version, newest first (docs/sync.md, "Versions"). A
legacy write has no version column of its own: `UPD_TS` is the writing app's clock to the
second, so two writes in one second tie, and any app may stamp it as it likes. The capture
triggers, however, stamp every change row with the database's clock to the microsecond, in
the writer's own transaction. So the version of a record in legacy is the capture time of its
newest change row that is a *write*: made by legacy (not an echo of Ficus's own writes) and
an insert, update or delete (not a fan-out to a derived copy, a retry or a repair request).

Change rows are pruned some time after they are applied (`sync run --keep-done-hours`); a
record with none left was last written before that, and its version is its UPD_TS, which is
then older than anything still in flight. SQLAlchemy Core only; used by both appliers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from sqlalchemy import Connection, func, or_, select

from domain.records import MappingError
from domain.records.codecs import UtcTimestampCodec
from legacy_adapter.capture import FICUS_ORIGIN
from legacy_adapter.change_ops import WRITE_OPS
from legacy_adapter.ficus_tables import change

_UPD_TS = UtcTimestampCodec()
_CHUNK = 500


def resolution_us(dialect: str) -> int:
    """How finely the legacy database's capture clock orders writes, in microseconds: SQLite's
    `julianday('now')` has milliseconds, PostgreSQL's and MariaDB's clocks microseconds. Two
    writes of one record closer than this are a tie (legacy_adapter.conflicts: the owner's)."""
    return 1000 if dialect == "sqlite" else 1


def capture_versions(conn: Connection, table: str, keys: Sequence[int]) -> dict[int, int]:
    """The capture time of each key's newest legacy write still in the change log."""
    c = change.c
    found: dict[int, int] = {}
    for start in range(0, len(keys), _CHUNK):
        chunk = keys[start : start + _CHUNK]
        rows = conn.execute(
            select(c.pk, func.max(c.created_at_us))
            .where(
                c.tbl == table,
                c.pk.in_(chunk),
                c.op.in_(WRITE_OPS),
                or_(c.origin.is_(None), c.origin != FICUS_ORIGIN),
            )
            .group_by(c.pk)
        )
        found.update((int(pk), int(at)) for pk, at in rows)
    return found


def capture_versions_between(
    conn: Connection, table: str, *, after: int | None, upto: int
) -> dict[int, int]:
    """`capture_versions` for every key in (after, upto]: one statement for a backfill chunk."""
    c = change.c
    query = (
        select(c.pk, func.max(c.created_at_us))
        .where(
            c.tbl == table,
            c.pk <= upto,
            c.op.in_(WRITE_OPS),
            or_(c.origin.is_(None), c.origin != FICUS_ORIGIN),
        )
        .group_by(c.pk)
    )
    if after is not None:
        query = query.where(c.pk > after)
    return {int(pk): int(at) for pk, at in conn.execute(query)}


def upd_ts_version(value: object) -> int | None:
    """UPD_TS as a version (the start of its second), or None when it is not a timestamp."""
    try:
        stamp = _UPD_TS.decode(value)
    except MappingError:
        return None
    return int(stamp.timestamp()) * 1_000_000


def legacy_versions(
    conn: Connection,
    table: str,
    keys: Iterable[int],
    upd_ts: Mapping[int, object],
    *,
    captured: Mapping[int, int] | None = None,
) -> dict[int, int]:
    """The version of every key: its newest captured legacy write, else its UPD_TS (`upd_ts`
    by key, for the rows that exist), else 0 (a row that was never written through capture
    and has no usable UPD_TS: older than anything). `captured` saves the look-up when the
    caller has it already (a backfill chunk reads a key range at once)."""
    ordered = sorted(set(keys))
    if captured is None:
        captured = capture_versions(conn, table, ordered)
    return {
        key: captured[key] if key in captured else (upd_ts_version(upd_ts.get(key)) or 0)
        for key in ordered
    }
