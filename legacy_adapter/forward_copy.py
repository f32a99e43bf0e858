"""Backfill, legacy → service: copy every existing row in checkpointed key ranges.

Capture is installed first (`sync backfill` runs `sync install`), so every change made while
the backfill runs is also a `ficus_change` row that the live applier will apply. The two can
therefore overlap on a key, and the backfill uses the stricter guard of
`ServiceTarget.backfill_apply`: it writes a row only when the service has none or an older
version, never over the same version. A live change applied a moment before the backfill's
(older) read can thus never be undone by the backfill; the live change has the last word.

Chunks are read with keyset pagination (`WHERE key > last ORDER BY key LIMIT n`): memory is
one chunk whatever the table size, and no read transaction stays open while the service
writes. After each chunk the highest key is saved in `ficus_sync_checkpoint`, so an
interrupted backfill resumes after it; a finished one starts again from the top (cheap:
unchanged rows are not written). A crash between a chunk's commit and its checkpoint replays
one chunk, harmlessly.

Rows that cannot be mapped are never dropped silently and never stop the others: they become
forward dead letters with their reason (never their values), counted and listed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, func, select

from domain.records import MappingError
from legacy_adapter import deadletters
from legacy_adapter.checkpoints import BACKFILL, DONE, RUNNING, Checkpoint, CheckpointStore
from legacy_adapter.crashpoints import crash_point
from legacy_adapter.forward_apply import FORWARD, ApplyCounts, now_us
from legacy_adapter.sources import LegacySource
from legacy_adapter.versions import capture_versions_between, legacy_versions

logger = logging.getLogger("ficus.sync")

DEFAULT_BATCH_SIZE = 1000
CHUNK_ATTEMPTS = 3
MAX_LISTED_FAILURES = 100  # all are counted and dead-lettered; the report lists the first ones


class BackfillSink(Protocol):
    def __call__(
        self, *, records: Sequence[Any], versions: Mapping[int, int] | None = None
    ) -> ApplyCounts: ...


@dataclass(frozen=True, slots=True)
class FailedRow:
    key: int
    problem: str  # a MappingError message: the column and what is wrong, no values


@dataclass(slots=True)
class CopyReport:
    mode: str = BACKFILL
    total: int | None = None  # rows to read, known up front
    read: int = 0
    applied: int = 0
    unchanged: int = 0
    skipped_older: int = 0
    failed: int = 0
    failures: list[FailedRow] = field(default_factory=list)
    resumed_after: int | None = None

    def summary(self) -> str:
        return (
            f"{self.mode}: read {self.read}, applied {self.applied}, unchanged {self.unchanged}, "
            f"skipped as older {self.skipped_older}, failed {self.failed}"
        )


class Backfill:
    def __init__(
        self,
        engine: Engine,
        source: LegacySource,
        sink: BackfillSink,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        progress: Callable[[CopyReport], None] | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self._engine = engine
        self._source = source
        self._sink = sink
        self._batch_size = batch_size
        self._progress = progress
        self.checkpoints = CheckpointStore(engine)

    @property
    def feature(self) -> str:
        return self._source.feature

    def run(self) -> CopyReport:
        """Copy every row in key order; resume an interrupted backfill where it stopped."""
        saved = self.checkpoints.get(self.feature, FORWARD, BACKFILL)
        after = saved.last_key if saved is not None and saved.state == RUNNING else None
        if after is None:
            self._save(RUNNING, None)
        report = CopyReport(total=self._count(after), resumed_after=after)
        while True:
            with self._engine.connect() as conn:
                rows = self._source.scan(conn, after=after, upto=None, limit=self._batch_size)
                if not rows:
                    break
                versions = self._versions(conn, rows, after)
            self._apply(rows, versions, report)
            crash_point("backfill-chunk")
            after = int(rows[-1][self._source.key])  # type: ignore[call-overload]
            self._save(RUNNING, after)
            if self._progress is not None:
                self._progress(report)
        self._save(DONE, after)
        return report

    def _versions(
        self, conn: Connection, rows: list[dict[str, object]], after: int | None
    ) -> dict[int, int]:
        """Each row's version (legacy_adapter.versions), the chunk's capture rows at once."""
        key = self._source.key
        keys = [int(row[key]) for row in rows]  # type: ignore[call-overload]
        captured = capture_versions_between(conn, self._source.table, after=after, upto=keys[-1])
        upd_ts = {k: row.get("UPD_TS") for k, row in zip(keys, rows, strict=True)}
        return legacy_versions(conn, self._source.table, keys, upd_ts, captured=captured)

    def _apply(
        self, rows: list[dict[str, object]], versions: dict[int, int], report: CopyReport
    ) -> None:
        records = []
        poison: dict[int, tuple[int | None, str]] = {}
        for row in rows:
            key = int(row[self._source.key])  # type: ignore[call-overload]
            try:
                records.append(self._source.to_record(row))
            except MappingError as e:
                poison[key] = (None, str(e))
                logger.warning("%s row %s cannot be mapped: %s", self.feature, key, e)
                if len(report.failures) < MAX_LISTED_FAILURES:
                    report.failures.append(FailedRow(key, str(e)))
        result = self._write(records, versions) if records else None
        report.read += len(rows)
        report.failed += len(poison)
        if result is not None:
            report.applied += result.applied
            report.unchanged += result.unchanged
            report.skipped_older += result.skipped_older
        if poison:
            with self._engine.begin() as conn:
                deadletters.record(
                    conn,
                    feature=self.feature,
                    direction=FORWARD,
                    tbl=self._source.table,
                    poison=poison,
                    now_us=now_us(),
                )

    def _write(self, records: list[Any], versions: dict[int, int]) -> ApplyCounts:
        # The live applier may insert one of these new keys between our version check and
        # our insert (a unique-key error): the chunk rolled back whole, so applying it again
        # is safe and then finds the row. Anything that keeps failing is raised.
        for attempt in range(CHUNK_ATTEMPTS):
            try:
                return self._sink(records=records, versions=versions)
            except Exception:
                if attempt == CHUNK_ATTEMPTS - 1:
                    raise
                logger.info("%s backfill chunk failed, retrying", self.feature)
        raise AssertionError("unreachable")

    def _count(self, after: int | None) -> int:
        query = select(func.count()).select_from(self._source.sql_table)
        if after is not None:
            query = query.where(self._source.key_attr > after)
        with self._engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def _save(self, state: str, last_key: int | None) -> None:
        self.checkpoints.save(Checkpoint(self.feature, FORWARD, BACKFILL, state, last_key))
