"""The forward-sync sinks' shared core: a versioned upsert and a delete, in a few statements.

Each service's `apply_legacy_*` hands its model, the fields it copies and a batch of clean
records to `VersionedTable.upsert`, which keeps the guarantees of DESIGN.md §5 (G2/G3):
  * within the batch the newest copy of a key wins (ties: the later one, the current row);
  * a record older than the stored row is skipped: stale never overwrites newer;
  * the same version with the same content is a replay and writes nothing;
  * the same version with different content is applied (the reader maps the current row);
  * anything newer, or new, is applied.

The version is the `sync_version` column, integer microseconds (docs/sync.md, "Versions"):
for a row copied from legacy, the capture time of the newest legacy write of the record (sync
passes it in `versions`); for the service's own writes, the service's clock. Without
`versions` (tests, tools) a record's version is its `source_updated_at`. `force` (a repair, or
an owner's state put back) writes the record whatever the versions say, and keeps the higher
version, so an older write never resurfaces later.

Derived fields (the patient's name on an appointment) belong to another feature, whose own
sync keeps the legacy database current: they are refreshed whenever they differ, whatever the
versions, because they are not this record's write. Unique fields other than the key (a
patient's MRN) may move between records in one batch (an MRN swap): changed rows first park
their unique values, then take the new ones, in the same transaction.
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

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import datetime
from operator import attrgetter
from typing import Any, Protocol

from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field, Model, Q

from domain.records.instants import epoch_micros
from extracted.core.db_prep import Preparer, preparer

SOURCE_VERSION = "source_updated_at"  # what every copied record carries (the legacy UPD_TS)
VERSION = "sync_version"  # the stored version column the guard compares, microseconds


class Versioned(Protocol):
    """A clean record: a key, a version and (by name) the values of the copied fields."""

    @property
    def id(self) -> int: ...

    @property
    def source_updated_at(self) -> datetime: ...


@dataclass(frozen=True, slots=True)
class ApplyResult:
    """What one apply did; the three counts add up to the number of records given. The keys
    say which records were written and which lost to a newer stored version (sync records
    conflicts from them); they are not part of equality, which compares the counts."""

    applied: int = 0
    unchanged: int = 0
    skipped_older: int = 0
    applied_keys: frozenset[int] = dataclass_field(default=frozenset(), compare=False)
    older_keys: frozenset[int] = dataclass_field(default=frozenset(), compare=False)
    # The version each given record's key had before the apply (absent: it was new).
    stored_versions: Mapping[int, int] = dataclass_field(default_factory=dict, compare=False)


def version_of(when: datetime) -> int:
    """A datetime as a version: integer microseconds since the epoch (the same count reverse
    sync gives an outbox row's time)."""
    return epoch_micros(when)


def _newest(
    records: Iterable[Versioned], versions: Mapping[int, int] | None
) -> tuple[dict[int, tuple[Versioned, int]], int]:
    """The newest record of each key with its version, and how many older copies lost within
    the batch."""
    newest: dict[int, tuple[Versioned, int]] = {}
    older = 0
    for record in records:
        version = (
            versions[record.id] if versions is not None else version_of(record.source_updated_at)
        )
        seen = newest.get(record.id)
        if seen is not None:
            older += 1  # one of the two copies loses
            if version < seen[1]:
                continue
        newest[record.id] = (record, version)
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
    """One model's sink: the fields copied from the record (`source_updated_at` among them),
    the version column, and the fields derived from another feature's records."""

    def __init__(
        self,
        model: type[Model],
        fields: Sequence[str],
        *,
        using: str,
        derived: Sequence[str] = (),
    ) -> None:
        if SOURCE_VERSION not in fields:
            raise ValueError(f"{model.__name__}: the copied fields must include {SOURCE_VERSION}")
        if not set(derived) <= set(fields):
            raise ValueError(f"{model.__name__}: derived fields must be among the copied ones")
        self.model = model
        self.fields = tuple(fields)
        self.derived = tuple(derived)
        self.using = using
        get = attrgetter(*self.fields)
        self._values: Callable[[Versioned], tuple[Any, ...]] = (
            get if len(self.fields) > 1 else lambda record: (get(record),)
        )
        self._derived_index = [self.fields.index(name) for name in self.derived]
        self._model_fields = [_concrete(model, name) for name in self.fields]
        self._version_field = _concrete(model, VERSION)
        pk = model._meta.pk
        if pk is None:  # only abstract models have none; they have no table to write either
            raise ValueError(f"{model.__name__} has no primary key")
        self._pk_field = _concrete(model, pk.name)
        # Unique columns besides the key: values that may move between records (MRN swaps).
        self._unique = [
            (position, field)
            for position, field in enumerate(self._model_fields)
            if field.unique and not field.primary_key
        ]

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

    def _stored_versions(
        self, connection: BaseDatabaseWrapper, keys: list[int]
    ) -> dict[int, tuple[Any, ...]]:
        """(version, *unique values) of each stored key, locked."""
        stored: dict[int, tuple[Any, ...]] = {}
        unique = [field.name for _position, field in self._unique]
        for match in self._batches(connection, keys):
            rows = (
                self._manager()
                .select_for_update()
                .filter(match)
                .order_by("pk")  # lock in key order: two appliers cannot deadlock on a pair
                .values_list("pk", VERSION, *unique)
            )
            for pk, *values in rows:
                stored[pk] = tuple(values)
        return stored

    def _stored_content(self, connection: BaseDatabaseWrapper, keys: list[int]) -> dict[int, Any]:
        found: dict[int, Any] = {}
        for match in self._batches(connection, keys):
            for pk, *values in self._manager().filter(match).values_list("pk", *self.fields):
                found[pk] = tuple(values)
        return found

    def unique_holders(self, records: Iterable[Versioned]) -> set[int]:
        """Keys outside `records` whose stored unique values (an MRN) some record wants: in
        legacy those rows changed too (legacy is unique as well), so they belong in the
        same transaction, or the batch could never apply in any order."""
        if not self._unique:
            return set()
        wanted = {record.id: self._values(record) for record in records}
        holders: set[int] = set()
        for position, field in self._unique:
            values = {row[position] for row in wanted.values()}
            if not values:
                continue
            for pk in (
                self._manager()
                .filter(**{f"{field.name}__in": list(values)})
                .values_list("pk", flat=True)
            ):
                if pk not in wanted:
                    holders.add(int(pk))
        return holders

    # -- writes --------------------------------------------------------------------------------

    def _db_row(self, preps: list[Preparer], record: Versioned) -> list[Any]:
        return [prep(value) for prep, value in zip(preps, self._values(record), strict=True)]

    # Table and column names come from the model's _meta, quoted by the backend; values are
    # always parameters. Hence the `noqa: S608` below.
    def _write(
        self,
        connection: BaseDatabaseWrapper,
        new: list[tuple[Versioned, int]],
        changed: list[tuple[Versioned, int]],
        moving: Sequence[tuple[Versioned, int]] = (),
    ) -> None:
        quote = connection.ops.quote_name
        table = quote(self.model._meta.db_table)
        model_fields = [*self._model_fields, self._version_field]
        columns = [quote(str(field.column)) for field in model_fields]
        pk = quote(str(self._pk_field.column))
        preps = [preparer(field, connection) for field in self._model_fields]
        key = preparer(self._pk_field, connection)
        with connection.cursor() as cursor:
            if moving:
                self._park_unique(cursor, table, pk, key, moving, connection)
            if changed:
                assignments = ", ".join(f"{column} = %s" for column in columns)
                cursor.executemany(
                    f"UPDATE {table} SET {assignments} WHERE {pk} = %s",  # noqa: S608 (names are ours)
                    [[*self._db_row(preps, r), v, key(r.id)] for r, v in changed],
                )
            if not new:
                return
            rows = [[key(r.id), *self._db_row(preps, r), v] for r, v in new]
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

    def _park_unique(
        self,
        cursor: Any,
        table: str,
        pk: str,
        key: Preparer,
        changed: Sequence[tuple[Versioned, int]],
        connection: BaseDatabaseWrapper,
    ) -> None:
        """Give every row whose unique value changes a placeholder first, so values that
        move between rows of the batch (a swap) never meet: no backend defers uniqueness for
        us (MariaDB and SQLite cannot). The placeholder is the key, marked, within the
        column's length; the final UPDATE replaces it in the same transaction."""
        quote = connection.ops.quote_name
        for _position, field in self._unique:
            column = quote(str(field.column))
            width = getattr(field, "max_length", None) or 10
            cursor.executemany(
                f"UPDATE {table} SET {column} = %s WHERE {pk} = %s",  # noqa: S608 (names are ours)
                [[f"~{r.id:x}"[:width], key(r.id)] for r, _v in changed],
            )

    def _refresh_derived(self, connection: BaseDatabaseWrapper, records: list[Versioned]) -> int:
        """Write the derived fields of `records` where they differ; how many rows changed."""
        if not self._derived_index or not records:
            return 0
        stored = self._stored_content(connection, [r.id for r in records])
        stale = [
            r
            for r in records
            if r.id in stored
            and any(stored[r.id][i] != self._values(r)[i] for i in self._derived_index)
        ]
        if not stale:
            return 0
        quote = connection.ops.quote_name
        fields = [self._model_fields[i] for i in self._derived_index]
        preps = [preparer(f, connection) for f in fields]
        key = preparer(self._pk_field, connection)
        assignments = ", ".join(f"{quote(str(f.column))} = %s" for f in fields)
        table = quote(self.model._meta.db_table)
        pk = quote(str(self._pk_field.column))
        rows = []
        for record in stale:
            values = self._values(record)
            pairs = zip(preps, self._derived_index, strict=True)
            rows.append([*(prep(values[i]) for prep, i in pairs), key(record.id)])
        with connection.cursor() as cursor:
            cursor.executemany(
                f"UPDATE {table} SET {assignments} WHERE {pk} = %s",  # noqa: S608 (names are ours)
                rows,
            )
        return len(stale)

    # -- the sink ------------------------------------------------------------------------------

    def upsert(
        self,
        records: Iterable[Versioned],
        *,
        versions: Mapping[int, int] | None = None,
        force: bool = False,
        resolution_us: int = 1,
        service_wins_ties: frozenset[int] = frozenset(),
    ) -> ApplyResult:
        """Upsert one batch under the version guard; call it inside a transaction on `using`.

        `versions` gives each record's version (microseconds); without it, `source_updated_at`
        is. With `force`, every record whose content differs is written (keeping the higher
        of the two versions): an owner's state put back, or a repair.

        The incoming versions come from a clock of `resolution_us` (SQLite's is 1 ms): a
        stored service write is compared at that resolution, and a tie between the two sides
        goes to the record's owner: the service for the keys in `service_wins_ties`, legacy
        (the incoming record) for the others.
        """
        newest, older = _newest(records, versions)
        if not newest:
            return ApplyResult(skipped_older=older)
        connection = connections[self.using]
        stored = self._stored_versions(connection, list(newest))
        new: list[tuple[Versioned, int]] = []
        changed: list[tuple[Versioned, int]] = []
        same: list[tuple[Versioned, int]] = []
        lost: list[Versioned] = []
        for key, (record, version) in newest.items():
            found = stored.get(key)
            if found is None:
                new.append((record, version))
                continue
            current = int(found[0])
            coarse = current - current % resolution_us
            if force:
                same.append((record, max(version, current)))
            elif version < coarse:
                lost.append(record)
            elif version == current:  # the same write again (a replay), or the current row
                same.append((record, version))
            elif version == coarse and key in service_wins_ties:  # a tie: the owner's
                lost.append(record)
            else:
                changed.append((record, version))
        unchanged = 0
        if same:
            content = self._stored_content(connection, [r.id for r, _v in same])
            for record, version in same:
                if content[record.id] == self._values(record):
                    unchanged += 1
                else:
                    changed.append((record, version))
        moving = [
            (record, version)
            for record, version in changed
            if self._unique
            and stored[record.id][1:]
            != tuple(self._values(record)[position] for position, _field in self._unique)
        ]
        self._write(connection, new, changed, moving)
        self._refresh_derived(connection, lost)
        return ApplyResult(
            applied=len(new) + len(changed),
            unchanged=unchanged,
            skipped_older=older + len(lost),
            applied_keys=frozenset(r.id for r, _v in (*new, *changed)),
            older_keys=frozenset(r.id for r in lost),
            stored_versions={key: int(found[0]) for key, found in stored.items()},
        )

    def delete(self, keys: Iterable[int]) -> int:
        """Delete the rows of `keys` (their legacy rows are gone); how many there were."""
        connection = connections[self.using]
        deleted = 0
        for match in self._batches(connection, list(set(keys))):
            count, _by_model = self._manager().filter(match).delete()
            deleted += count
        return deleted
