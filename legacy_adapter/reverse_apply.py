"""Reverse apply, service → legacy, from the service's transactional outbox (contract C4).

It always runs, whoever owns the feature: a canary with writes has records of both owners, a
service write may still be on its way when a rollback hands its record back, and ownership
decides what happens to each write (the conflict rule, legacy_adapter/conflicts.py).

One batch:
  1. Claim pending outbox rows of the feature's aggregate (`processed_at IS NULL`) in a
     transaction of the service database, `FOR UPDATE SKIP LOCKED` where the backend has it.
  2. Read the *current* service row of every key (state-based: a burst of edits is one write),
     with its version, and encode it with the feature's declarative mapping.
  3. Write legacy in one transaction that carries the origin marker, so the capture triggers
     record these writes as Ficus's own and forward sync skips them (no echo, G4). Per key:
     the same content is not written again (replays are no-ops, G2); otherwise the newer of
     the service's version and legacy's (legacy_adapter/versions.py) wins, ties going to the
     owner (G3); a `restore` row (the service's state put back) is written whatever the
     versions; a write the plan's `owner_wins` refuses is not written, and the legacy state
     is queued back for the service instead. A key the service no longer has is deleted in
     legacy under the same rule. Writes that lost, on either side, go to the conflict log.
  4. Only after the legacy commit, stamp `processed_at` on the claimed rows and commit the
     service transaction. A crash in between leaves them pending: they are delivered again
     and find legacy already in that state (G1, G2).

A row that cannot be encoded, or that legacy refuses (a constraint or data error), becomes a
reverse dead letter with the reason and its outbox row records `last_error`; only that key
waits. Any other database error (a lock timeout, a server gone) fails the batch, which is
retried: it says nothing about the row, so it must never dead-letter one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.db import connections, transaction
from django.db.models import Min
from sqlalchemy import Connection, Engine, delete, insert, or_, select, update
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError

from domain.ownership import FeatureOwnership, Owner
from domain.records.instants import epoch_micros
from legacy_adapter import apply_loop, conflicts, deadletters
from legacy_adapter.capture import FICUS_ORIGIN, origin_transaction
from legacy_adapter.change_ops import OUTBOX_RESTORE, OWNER_STATE, WRITE_OPS
from legacy_adapter.conflicts import CONCURRENT, REFUSED, Conflict
from legacy_adapter.crashpoints import crash_point
from legacy_adapter.ficus_tables import change
from legacy_adapter.forward_apply import now_us
from legacy_adapter.service_side import ServiceSide
from legacy_adapter.sources import LegacySource
from legacy_adapter.status import ReverseState
from legacy_adapter.versions import legacy_versions, resolution_us

logger = logging.getLogger("ficus.sync")

REVERSE = "reverse"
DEFAULT_BATCH = 200
# Errors about the rows written, which may dead-letter a key; anything else is transient.
ROW_ERRORS = (IntegrityError, DataError)


@dataclass(slots=True)
class ReverseReport:
    claimed: int = 0
    keys: int = 0
    written: int = 0
    unchanged: int = 0
    skipped_newer_in_legacy: int = 0
    deleted: int = 0
    dead_lettered: int = 0
    conflicts: int = 0
    refused: int = 0
    changed_keys: set[int] = field(default_factory=set)  # written or deleted in legacy

    def add(self, other: ReverseReport) -> None:
        apply_loop.add_counts(self, other, _COUNTERS)
        self.changed_keys |= other.changed_keys

    def summary(self) -> str:
        return (
            f"reverse: claimed {self.claimed}, written {self.written}, unchanged "
            f"{self.unchanged}, skipped (legacy newer) {self.skipped_newer_in_legacy}, "
            f"deleted {self.deleted}, dead letters {self.dead_lettered}, conflicts "
            f"{self.conflicts}, refused {self.refused}"
        )


_COUNTERS = (
    "claimed",
    "keys",
    "written",
    "unchanged",
    "skipped_newer_in_legacy",
    "deleted",
    "dead_lettered",
    "conflicts",
    "refused",
)


def reverse_state(target: ServiceSide) -> ReverseState:
    pending = target.outbox._default_manager.using(target.alias).filter(
        processed_at__isnull=True, aggregate=target.source.aggregate
    )
    found = pending.aggregate(oldest=Min("created_at"))
    oldest = found["oldest"]
    lag = (datetime.now(UTC) - oldest).total_seconds() if oldest is not None else 0.0
    return ReverseState(backlog=pending.count(), lag_seconds=max(lag, 0.0))


@dataclass(slots=True)
class _Batch:
    """What the claimed outbox rows say, by key, and what writing them decided."""

    forced: set[int]  # `restore` rows: the service's state whatever the versions
    written_at: dict[int, int]  # the newest claimed row of each key, microseconds
    versions: dict[int, int] = field(default_factory=dict)  # the service's, per key
    conflicts: list[Conflict] = field(default_factory=list)
    refused: set[int] = field(default_factory=set)


class ReverseApplier:
    def __init__(
        self,
        engine: Engine,
        target: ServiceSide,
        *,
        batch_size: int = DEFAULT_BATCH,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._engine = engine
        self._target = target
        self._source: LegacySource = target.source
        self._batch = batch_size
        self._clock = clock

    def run_batch(self) -> ReverseReport | None:
        alias = self._target.alias
        outbox = self._target.outbox._default_manager.using(alias)
        skip_locked = connections[alias].features.has_select_for_update_skip_locked
        with transaction.atomic(using=alias):
            pending = outbox.filter(
                processed_at__isnull=True, aggregate=self._source.aggregate
            ).order_by("id")
            if skip_locked:
                pending = pending.select_for_update(skip_locked=True)
            claimed = list(pending[: self._batch])
            if not claimed:
                return None
            report = ReverseReport(claimed=len(claimed))
            batch = _Batch(forced=set(), written_at={})
            for row in claimed:
                key = int(row.key)
                if row.operation == OUTBOX_RESTORE:
                    batch.forced.add(key)
                at = epoch_micros(row.created_at)
                batch.written_at[key] = max(batch.written_at.get(key, 0), at)
            keys = sorted(batch.written_at)
            report.keys = len(keys)
            errors = self._write_legacy(keys, batch, report)
            crash_point("reverse-after-legacy-commit")
            now = self._clock()
            for row in claimed:
                row.processed_at = now
                row.attempts += 1
                row.last_error = errors.get(int(row.key), "")
            outbox.bulk_update(claimed, ["processed_at", "attempts", "last_error"])
        return report

    def drain(self, max_batches: int | None = None) -> ReverseReport:
        return apply_loop.drain(self.run_batch, ReverseReport(), max_batches)

    def _write_legacy(
        self, keys: Sequence[int], batch: _Batch, report: ReverseReport
    ) -> dict[int, str]:
        fields = (*self._target.record_fields, "sync_version")
        stored = {}
        for row in (
            self._target.model._default_manager.using(self._target.alias)
            .filter(pk__in=keys)
            .values_list(*fields)
        ):
            *values, version = row
            stored[row[0]] = self._target.record_type(
                **dict(zip(self._target.record_fields, values, strict=True))
            )
            batch.versions[row[0]] = int(version)
        for key in keys:  # gone in the service: the delete's version is its outbox row's
            batch.versions.setdefault(key, batch.written_at[key])
        wanted, errors = apply_loop.convert_current(keys, stored, self._legacy_columns)
        ownership = self._target.ownership()
        try:
            with origin_transaction(self._engine) as conn:
                self._apply(conn, wanted, batch, ownership, report)
                self._settle(conn, wanted, batch, ownership)
                crash_point("reverse-apply")
        except DBAPIError as e:
            if e.connection_invalidated or len(wanted) <= 1 or not isinstance(e, ROW_ERRORS):
                raise
            return self._isolate(wanted, batch, ownership, errors, report)
        self._dead_letter(errors)
        report.dead_lettered += len(errors)
        return errors

    def _settle(
        self,
        conn: Connection,
        wanted: Mapping[int, dict[str, object] | None],
        batch: _Batch,
        ownership: FeatureOwnership,
    ) -> None:
        """In the legacy write's transaction: close dead letters, log conflicts, and queue the
        legacy state of refused keys for the service (rows `O`, which are not echoes)."""
        at = now_us()
        deadletters.resolve(
            conn, direction=REVERSE, tbl=self._source.table, keys=list(wanted), now_us=at
        )
        conflicts.record(
            conn, ownership, table=self._source.table, conflicts=batch.conflicts, now_us=at
        )
        if batch.refused:
            conn.execute(
                insert(change),
                [
                    {"tbl": self._source.table, "pk": key, "op": OWNER_STATE,
                     "origin": None, "created_at_us": at}
                    for key in sorted(batch.refused)
                ],
            )  # fmt: skip

    def _legacy_columns(self, record: object) -> dict[str, object]:
        legacy = self._source.to_legacy(record)  # raises MappingError
        return {name: legacy[name] for name in self._source.written}

    def _isolate(
        self,
        wanted: dict[int, dict[str, object] | None],
        batch: _Batch,
        ownership: FeatureOwnership,
        errors: dict[int, str],
        report: ReverseReport,
    ) -> dict[int, str]:
        for key, row in wanted.items():
            single = _Batch(batch.forced, batch.written_at, batch.versions)
            try:
                with origin_transaction(self._engine) as conn:
                    self._apply(conn, {key: row}, single, ownership, report)
                    self._settle(conn, {key: row}, single, ownership)
            except DBAPIError as e:
                if e.connection_invalidated or not isinstance(e, ROW_ERRORS):
                    raise
                errors[key] = f"legacy refused the row ({type(e.orig).__name__})"
        self._dead_letter(errors)
        report.dead_lettered += len(errors)
        return errors

    def _unseen_legacy_writes(self, conn: Connection, keys: Sequence[int]) -> set[int]:
        """Keys with legacy writes the service has not applied yet (pending change rows that
        are neither echoes nor applied): a service write replacing them is a conflict."""
        c = change.c
        rows = conn.execute(
            select(c.id, c.pk).where(
                c.tbl == self._source.table,
                c.pk.in_(list(keys)),
                c.done_at_us.is_(None),
                c.op.in_(WRITE_OPS),
                or_(c.origin.is_(None), c.origin != FICUS_ORIGIN),
            )
        ).all()
        if not rows:
            return set()
        applied = self._target.applied_ids([row.id for row in rows])
        return {int(row.pk) for row in rows if row.id not in applied}

    def _apply(
        self,
        conn: Connection,
        wanted: dict[int, dict[str, object] | None],
        batch: _Batch,
        ownership: FeatureOwnership,
        report: ReverseReport,
    ) -> None:
        table = self._source.sql_table
        key_col = table.c[self._source.key]
        keys = sorted(wanted)
        locked = select(table).where(key_col.in_(keys))
        if conn.dialect.name != "sqlite":
            locked = locked.with_for_update()
        current = {row[self._source.key]: row for row in conn.execute(locked).mappings()}
        upd_ts = {key: row["UPD_TS"] for key, row in current.items()}
        legacy = legacy_versions(conn, self._source.table, keys, upd_ts)
        unseen = self._unseen_legacy_writes(conn, keys)
        for key, row in wanted.items():
            existing = current.get(key)
            mine, theirs = batch.versions[key], legacy[key]
            if _already(existing, row):
                report.unchanged += 1
                continue
            if key not in batch.forced:
                if existing is not None and conflicts.refuses(
                    ownership, key, writer=Owner.SERVICE, version=mine
                ):
                    batch.refused.add(key)
                    batch.conflicts.append(
                        Conflict(key, REFUSED, Owner.LEGACY, Owner.SERVICE, theirs, mine)
                    )
                    report.refused += 1
                    continue
                coarse = mine - mine % resolution_us(conn.dialect.name)
                newer = coarse > theirs or (
                    coarse == theirs and conflicts.tie_goes_to(ownership, key) is Owner.SERVICE
                )
                if not newer:
                    report.skipped_newer_in_legacy += 1
                    report.conflicts += 1
                    batch.conflicts.append(
                        Conflict(key, CONCURRENT, Owner.LEGACY, Owner.SERVICE, theirs, mine)
                    )
                    continue
                if key in unseen:
                    report.conflicts += 1
                    batch.conflicts.append(
                        Conflict(key, CONCURRENT, Owner.SERVICE, Owner.LEGACY, mine, theirs)
                    )
            report.changed_keys.add(key)
            if row is None:
                conn.execute(delete(table).where(key_col == key))
                report.deleted += 1
            elif existing is None:
                conn.execute(insert(table).values(**row))
                report.written += 1
            else:
                conn.execute(update(table).where(key_col == key).values(**row))
                report.written += 1

    def _dead_letter(self, errors: dict[int, str]) -> None:
        if not errors:
            return
        for key, reason in errors.items():
            logger.warning("%s key %s cannot go to legacy: %s", self._source.feature, key, reason)
        with self._engine.begin() as conn:
            deadletters.record(
                conn,
                feature=self._source.feature,
                direction=REVERSE,
                tbl=self._source.table,
                poison={key: (None, reason) for key, reason in errors.items()},
                now_us=now_us(),
            )


def _already(existing: Mapping[Any, object] | None, row: Mapping[str, object] | None) -> bool:
    """Whether legacy already holds the service's state: both gone, or the same content."""
    if existing is None or row is None:
        return existing is None and row is None
    return all(_same(existing[name], row[name]) for name in row)


def _same(a: object, b: object) -> bool:
    return ("" if a is None else str(a)).rstrip() == ("" if b is None else str(b)).rstrip()
