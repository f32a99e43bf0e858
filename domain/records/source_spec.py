"""What a feature reads from the legacy database, declared as data (pure).

Each feature's mapping (`legacy_adapter.mapping.<feature>`) declares its `SourceSpec`: the
captured table and its key, the columns the mapping needs, the rows it looks up beside them
(an appointment shows its patient's name), the mapping to the clean record and back, and the
canonical form reconcile compares. `legacy_adapter.sources` turns a spec into the queries.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

LegacyRow = dict[str, object]
Canonical = tuple[str, ...]


def canonical(values: Sequence[object]) -> Canonical:
    """Values as reconcile compares them: text, NULL as "" (the legacy app shows no difference)."""
    return tuple("" if value is None else str(value) for value in values)


@dataclass(frozen=True, slots=True)
class OuterJoin:
    """Columns of another table looked up by one column, as the legacy app looks them up: an
    outer join, so a row whose looked-up row is missing (legacy has no foreign keys) stays."""

    table: str
    on: str  # the column of the same name in both tables
    columns: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SourceSpec:
    feature: str
    table: str  # the captured table whose ficus_change rows this feature consumes
    key: str
    aggregate: str  # the outbox aggregate of the same records (contract C4)
    columns: tuple[str, ...]  # of `table`, the key first, then what the mapping needs
    legacy_row: Callable[[Mapping[Any, Any]], LegacyRow]  # a query row to the legacy object
    to_record: Callable[[LegacyRow], Any]  # raises MappingError
    to_legacy: Callable[[Any], LegacyRow]  # record -> legacy object (all mapped columns)
    compared: tuple[str, ...]  # the legacy columns reconcile compares, in order
    written: tuple[str, ...]  # the columns a reverse write may set (the table's own)
    # A query row (`columns`, then each join's columns) straight to its canonical values
    # (reconcile reads millions: no dicts).
    canonical_of: Callable[[Sequence[Any]], Canonical] = canonical
    joins: tuple[OuterJoin, ...] = ()
