"""What each feature reads from the legacy database, as queries: a feature's `SourceSpec`
(declared by its mapping, `legacy_adapter.mapping.<feature>`) made into a `LegacySource`.

The spec says the captured table and its key, the columns, the rows looked up beside them, and
the mapping; this module reads the current rows, scans them in key order, and streams their
canonical values for reconcile. Framework-free: SQLAlchemy and the pure mapping.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, Connection, Select, Table, select

from domain.records.source_spec import Canonical, LegacyRow, SourceSpec
from legacy_adapter.schema import LegacyBase


@dataclass(frozen=True, slots=True)
class LegacySource:
    feature: str
    table: str  # the captured table whose ficus_change rows this feature consumes
    key: str
    aggregate: str  # the outbox aggregate of the same records (contract C4)
    sql_table: Table  # `table` itself
    key_attr: Column[Any]
    query: Callable[[], Select[Any]]  # every column the mapping needs, keyed by `key`
    legacy_row: Callable[[Mapping[Any, Any]], LegacyRow]
    to_record: Callable[[LegacyRow], Any]  # raises MappingError
    to_legacy: Callable[[Any], LegacyRow]  # record → legacy object (all mapped columns)
    compared: tuple[str, ...]  # the legacy columns reconcile compares, in order
    written: tuple[str, ...]  # the columns a reverse write may set (the table's own)
    # A row of `query` straight to its canonical values (reconcile reads millions: no dicts).
    canonical_of: Callable[[Sequence[Any]], Canonical]

    def read(self, conn: Connection, keys: Sequence[int]) -> dict[int, LegacyRow]:
        """The current legacy rows for `keys` (absent keys were deleted)."""
        found: dict[int, LegacyRow] = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            rows = conn.execute(self.query().where(self.key_attr.in_(chunk))).mappings()
            for row in rows:
                found[row[self.key]] = self.legacy_row(row)
        return found

    def scan(
        self, conn: Connection, *, after: int | None, upto: int | None, limit: int
    ) -> list[LegacyRow]:
        """Rows with after < key <= upto, in key order, at most `limit` (keyset pagination)."""
        query = self.query().order_by(self.key_attr).limit(limit)
        if after is not None:
            query = query.where(self.key_attr > after)
        if upto is not None:
            query = query.where(self.key_attr <= upto)
        return [self.legacy_row(row) for row in conn.execute(query).mappings()]

    def canonical_rows(
        self, conn: Connection, *, lo: int, hi: int, batch: int = 5000
    ) -> Iterator[tuple[int, Canonical]]:
        """(key, canonical values) for lo <= key < hi, streamed in key order."""
        after = lo - 1
        to_canonical = self.canonical_of
        while True:
            query = (
                self.query()
                .where(self.key_attr > after, self.key_attr < hi)
                .order_by(self.key_attr)
                .limit(batch)
            )
            rows = conn.execute(query).all()
            for row in rows:
                yield row[0], to_canonical(row)
            if len(rows) < batch:
                return
            after = rows[-1][0]


def legacy_source(spec: SourceSpec) -> LegacySource:
    """The queries of a feature's spec, over the legacy schema's tables."""
    table = LegacyBase.metadata.tables[spec.table]

    def query() -> Select[Any]:
        selected: list[Any] = [table.c[name] for name in spec.columns]
        joined: Any = table
        for join in spec.joins:
            other = LegacyBase.metadata.tables[join.table]
            selected += [other.c[name] for name in join.columns]
            joined = joined.outerjoin(other, other.c[join.on] == table.c[join.on])
        return select(*selected).select_from(joined)

    return LegacySource(
        feature=spec.feature,
        table=spec.table,
        key=spec.key,
        aggregate=spec.aggregate,
        sql_table=table,
        key_attr=table.c[spec.key],
        query=query,
        legacy_row=spec.legacy_row,
        to_record=spec.to_record,
        to_legacy=spec.to_legacy,
        compared=spec.compared,
        written=spec.written,
        canonical_of=spec.canonical_of,
    )
