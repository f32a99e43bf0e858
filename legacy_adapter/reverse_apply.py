"""Reverse apply, service → legacy, from the service's transactional outbox (contract C4).

One batch:
  1. Claim pending outbox rows of the feature's aggregate (`processed_at IS NULL`) in a
     transaction of the service database, `FOR UPDATE SKIP LOCKED` where the backend has it.
  2. Read the *current* service row of every key (state-based: a burst of edits is one write)
     and encode it with the feature's declarative mapping.
  3. Write legacy in one transaction that carries the origin marker, so the capture triggers
     record these writes as Ficus's own and forward sync skips them (no echo, G4). Per key,
     under a version guard: a legacy row with a newer UPD_TS is left alone (G3); the same
     content is not written again (replays are no-ops, G2); a key the service no longer has
     is deleted in legacy.
  4. Only after the legacy commit, stamp `processed_at` on the claimed rows and commit the
     service transaction. A crash in between leaves them pending: they are delivered again
     and find legacy already in that state (G1, G2).

A row that cannot be encoded, or that legacy refuses, becomes a reverse dead letter with the
reason and its outbox row records `last_error`; only that key waits.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import connections, transaction
from django.db.models import Min
from sqlalchemy import Connection, Engine, delete, insert, select, update
from sqlalchemy.exc import DBAPIError

from legacy_adapter import apply_loop, deadletters
from legacy_adapter.capture import origin_transaction
from legacy_adapter.crashpoints import crash_point
from legacy_adapter.forward_apply import now_us
from legacy_adapter.sources import LegacySource
from legacy_adapter.status import ReverseState
from legacy_adapter.targets import ServiceTarget

logger = logging.getLogger("ficus.sync")

REVERSE = "reverse"
DEFAULT_BATCH = 200


@dataclass(slots=True)
class ReverseReport:
    claimed: int = 0
    keys: int = 0
    written: int = 0
    unchanged: int = 0
    skipped_newer_in_legacy: int = 0
    deleted: int = 0
    dead_lettered: int = 0

    def add(self, other: ReverseReport) -> None:
        apply_loop.add_counts(self, other, self.__slots__)

    def summary(self) -> str:
        return (
            f"reverse: claimed {self.claimed}, written {self.written}, unchanged "
            f"{self.unchanged}, skipped (legacy newer) {self.skipped_newer_in_legacy}, "
            f"deleted {self.deleted}, dead letters {self.dead_lettered}"
        )


def reverse_state(target: ServiceTarget) -> ReverseState:
    pending = target.outbox._default_manager.using(target.alias).filter(
        processed_at__isnull=True, aggregate=target.source.aggregate
    )
    found = pending.aggregate(oldest=Min("created_at"))
    oldest = found["oldest"]
    lag = (datetime.now(UTC) - oldest).total_seconds() if oldest is not None else 0.0
    return ReverseState(backlog=pending.count(), lag_seconds=max(lag, 0.0))


class ReverseApplier:
    def __init__(
        self,
        engine: Engine,
        target: ServiceTarget,
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
            keys = sorted({int(row.key) for row in claimed})
            report.keys = len(keys)
            errors = self._write_legacy(keys, report)
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

    def _write_legacy(self, keys: Sequence[int], report: ReverseReport) -> dict[int, str]:
        fields = self._target.record_fields
        stored = {
            row[0]: self._target.record_type(**dict(zip(fields, row, strict=True)))
            for row in self._target.model._default_manager.using(self._target.alias)
            .filter(pk__in=keys)
            .values_list(*fields)
        }
        wanted, errors = apply_loop.convert_current(keys, stored, self._legacy_columns)
        try:
            with origin_transaction(self._engine) as conn:
                self._apply(conn, wanted, report)
                deadletters.resolve(
                    conn, direction=REVERSE, tbl=self._source.table, keys=list(wanted),
                    now_us=now_us(),
                )  # fmt: skip
                crash_point("reverse-apply")
        except DBAPIError as e:
            if e.connection_invalidated or len(wanted) <= 1:
                raise
            return self._isolate(wanted, errors, report)
        self._dead_letter(errors)
        report.dead_lettered += len(errors)
        return errors

    def _legacy_columns(self, record: object) -> dict[str, object]:
        legacy = self._source.to_legacy(record)  # raises MappingError
        return {name: legacy[name] for name in self._source.written}

    def _isolate(
        self,
        wanted: dict[int, dict[str, object] | None],
        errors: dict[int, str],
        report: ReverseReport,
    ) -> dict[int, str]:
        for key, row in wanted.items():
            try:
                with origin_transaction(self._engine) as conn:
                    self._apply(conn, {key: row}, report)
            except DBAPIError as e:
                if e.connection_invalidated:
                    raise
                errors[key] = f"legacy refused the row ({type(e.orig).__name__})"
        self._dead_letter(errors)
        report.dead_lettered += len(errors)
        return errors

    def _apply(
        self, conn: Connection, wanted: dict[int, dict[str, object] | None], report: ReverseReport
    ) -> None:
        table = self._source.model.__table__
        key_col = table.c[self._source.key]
        keys = list(wanted)
        locked = select(table).where(key_col.in_(keys))
        if conn.dialect.name != "sqlite":
            locked = locked.with_for_update()
        current = {row[self._source.key]: row for row in conn.execute(locked).mappings()}
        for key, row in wanted.items():
            existing = current.get(key)
            if row is None:
                if existing is not None:
                    conn.execute(delete(table).where(key_col == key))
                    report.deleted += 1
                else:
                    report.unchanged += 1
                continue
            if existing is None:
                conn.execute(insert(table).values(**row))
                report.written += 1
            elif str(existing["UPD_TS"]) > str(row["UPD_TS"]):
                report.skipped_newer_in_legacy += 1
            elif all(_same(existing[name], row[name]) for name in row):
                report.unchanged += 1
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


def _same(a: object, b: object) -> bool:
    return ("" if a is None else str(a)).rstrip() == ("" if b is None else str(b)).rstrip()
