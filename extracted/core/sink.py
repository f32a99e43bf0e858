"""The forward-sync sinks' shared core: a versioned upsert and a delete, in a few statements.

Each service's `apply_legacy_*` hands its model, the fields it copies and a batch of clean
records to `VersionedTable.upsert`, which keeps the guarantees of DESIGN.md §5 (G2/G3):
  * within the batch the newest copy of a key wins (ties: the later one, the current row);
  * a record older than the stored row is skipped: stale never overwrites newer;
  * the same version with the same content is a replay and writes nothing;
  * the same version with different content is applied (UPD_TS has one-second resolution);
  * anything newer, or new, is applied.
Existing keys are read and locked in key order (SELECT ... FOR UPDATE on PostgreSQL/MariaDB;
SQLite serializes writers), so two appliers never interleave read-compare-write on a key.

Why raw prepared statements rather than `bulk_update`/`bulk_create`: Django's bulk_update
builds a CASE WHEN per field and row (95% of an update batch), and bulk_create compiles SQL
per field and row. Here each value is prepared as the field itself prepares it
(`extracted.core.db_prep`: encrypted fields are encrypted, datetimes adapted per backend,
exactly as the ORM would), and then one prepared UPDATE ... WHERE id = %s and one INSERT run
through `cursor.executemany`. The version read fetches only (key, version); the content of a
key is read only when its version equals the incoming one, the one case where content decides.

The caller owns the transaction (the services wrap their sinks in `transaction.atomic`), so a
batch is all or nothing; a constraint error surfaces as Django's IntegrityError.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter
from typing import Any, Protocol

from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field, Model, Q

from extracted.core.db_prep import Preparer, preparer

VERSION = "source_updated_at"


class Versioned(Protocol):
    """A clean record: a key, a version and (by name) the values of the copied fields."""

    @property
    def id(self) -> int: ...

    @property
    def source_updated_at(self) -> datetime: ...


@dataclass(frozen=True, slots=True)
class ApplyResult:
    """What one apply did; the three counts add up to the number of records given."""

    applied: int = 0
    unchanged: int = 0
    skipped_older: int = 0


def _newest(records: Iterable[Versioned]) -> tuple[dict[int, Versioned], int]:
    """The newest record of each key, and how many older copies lost within the batch."""
    newest: dict[int, Versioned] = {}
    older = 0
    for record in records:
        seen = newest.get(record.id)
        if seen is not None:
            older += 1  # one of the two copies loses
            if record.source_updated_at < seen.source_updated_at:
                continue
        newest[record.id] = record
    return newest, older


def _chunks(keys: Sequence[int], size: int) -> Iterable[Sequence[int]]:
    for start in range(0, len(keys), size):
        yield keys[start : start + size]


def _concrete(model: type[Model], name: str) -> Field[Any, Any]:
    field = model._meta.get_field(name)
    if not isinstance(field, Field) or not field.column:
        raise ValueError(f"{model.__name__}.{name} is not a column the sink can write")
    return field


class VersionedTable:
    """One model's sink: the fields copied from the record (the version among them)."""

    def __init__(self, model: type[Model], fields: Sequence[str], *, using: str) -> None:
        if VERSION not in fields:
            raise ValueError(f"{model.__name__}: the copied fields must include {VERSION}")
        self.model = model
        self.fields = tuple(fields)
        self.using = using
        get = attrgetter(*self.fields)
        self._values: Callable[[Versioned], tuple[Any, ...]] = (
            get if len(self.fields) > 1 else lambda record: (get(record),)
        )
        self._model_fields = [_concrete(model, name) for name in self.fields]
        pk = model._meta.pk
        if pk is None:  # only abstract models have none; they have no table to write either
            raise ValueError(f"{model.__name__} has no primary key")
        self._pk_field = _concrete(model, pk.name)

    # -- reads ---------------------------------------------------------------------------------

    def _manager(self) -> Any:
        return self.model._default_manager.using(self.using)

    def _batches(self, connection: BaseDatabaseWrapper, keys: list[int]) -> Iterable[Q]:
        """Filters that together match exactly `keys`, each within the backend's limits.

        A run of consecutive keys (a backfill chunk, usually) is matched as a range: the same
        rows, and one short statement instead of thousands of bound parameters.
        """
        ordered = sorted(keys)
        if ordered and ordered[-1] - ordered[0] + 1 == len(ordered):
            yield Q(pk__gte=ordered[0], pk__lte=ordered[-1])
            return
        size = max(1, connection.ops.bulk_batch_size(["pk"], ordered))
        for chunk in _chunks(ordered, size):
            yield Q(pk__in=chunk)

    def _stored_versions(self, connection: BaseDatabaseWrapper, keys: list[int]) -> dict[int, Any]:
        stored: dict[int, Any] = {}
        for match in self._batches(connection, keys):
            rows = (
                self._manager()
                .select_for_update()
                .filter(match)
                .order_by("pk")  # lock in key order: two appliers cannot deadlock on a pair
                .values_list("pk", VERSION)
            )
            stored.update(rows)
        return stored

    def _stored_content(self, connection: BaseDatabaseWrapper, keys: list[int]) -> dict[int, Any]:
        found: dict[int, Any] = {}
        for match in self._batches(connection, keys):
            for pk, *values in self._manager().filter(match).values_list("pk", *self.fields):
                found[pk] = tuple(values)
        return found

    # -- writes --------------------------------------------------------------------------------

    def _db_row(self, preps: list[Preparer], record: Versioned) -> list[Any]:
        return [prep(value) for prep, value in zip(preps, self._values(record), strict=True)]

    # Table and column names come from the model's _meta, quoted by the backend; values are
    # always parameters. Hence the `noqa: S608` below.
    def _write(
        self, connection: BaseDatabaseWrapper, new: list[Versioned], changed: list[Versioned]
    ) -> None:
        quote = connection.ops.quote_name
        table = quote(self.model._meta.db_table)
        columns = [quote(str(field.column)) for field in self._model_fields]
        pk = quote(str(self._pk_field.column))
        preps = [preparer(field, connection) for field in self._model_fields]
        key = preparer(self._pk_field, connection)
        with connection.cursor() as cursor:
            if changed:
                assignments = ", ".join(f"{column} = %s" for column in columns)
                cursor.executemany(
                    f"UPDATE {table} SET {assignments} WHERE {pk} = %s",  # noqa: S608 (names are ours)
                    [[*self._db_row(preps, r), key(r.id)] for r in changed],
                )
            if not new:
                return
            rows = [[key(r.id), *self._db_row(preps, r)] for r in new]
            names = f"{pk}, {', '.join(columns)}"
            if connection.vendor == "postgresql":
                # COPY streams the rows; executemany would pipeline one INSERT per row, which
                # was ~1/3 of a PostgreSQL backfill. Errors are translated as on any cursor.
                with (
                    connection.wrap_database_errors,
                    cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy,
                ):
                    for row in rows:
                        copy.write_row(row)
            else:
                marks = ", ".join(["%s"] * len(rows[0]))
                cursor.executemany(
                    f"INSERT INTO {table} ({names}) VALUES ({marks})",  # noqa: S608
                    rows,
                )

    # -- the sink ------------------------------------------------------------------------------

    def upsert(self, records: Iterable[Versioned]) -> ApplyResult:
        """Upsert one batch under the version guard; call it inside a transaction on `using`."""
        newest, older = _newest(records)
        if not newest:
            return ApplyResult(skipped_older=older)
        connection = connections[self.using]
        stored = self._stored_versions(connection, list(newest))
        new: list[Versioned] = []
        changed: list[Versioned] = []
        same_version: list[Versioned] = []
        for key, record in newest.items():
            version = stored.get(key)
            if version is None:
                new.append(record)
            elif record.source_updated_at < version:
                older += 1
            elif record.source_updated_at == version:
                same_version.append(record)
            else:
                changed.append(record)
        unchanged = 0
        if same_version:
            content = self._stored_content(connection, [r.id for r in same_version])
            for record in same_version:
                if content[record.id] == self._values(record):
                    unchanged += 1
                else:
                    changed.append(record)
        self._write(connection, new, changed)
        return ApplyResult(
            applied=len(new) + len(changed), unchanged=unchanged, skipped_older=older
        )

    def delete(self, keys: Iterable[int]) -> int:
        """Delete the rows of `keys` (their legacy rows are gone); how many there were."""
        connection = connections[self.using]
        deleted = 0
        for match in self._batches(connection, list(set(keys))):
            count, _by_model = self._manager().filter(match).delete()
            deleted += count
        return deleted
