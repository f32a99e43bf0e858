"""Forward apply, legacy → service, driven by the capture triggers' `ficus_change` rows.

One batch:
  1. **Claim** pending rows of the feature's table (`done_at_us IS NULL`), oldest first, only
     this worker's key shard (`pk % N = K`). On PostgreSQL and MariaDB the claim is
     `FOR UPDATE SKIP LOCKED` inside a legacy transaction that stays open until step 5, so
     workers never take the same row and a row committed late (sequences commit out of order)
     is simply claimed by a later batch: there is no "id > last seen" anywhere. SQLite has one
     writer and runs one worker; it claims with a plain read.
  2. **Skip** echoes (rows carrying Ficus's own origin marker, G4) and rows whose change id the
     target already recorded (a previous worker died after the target commit, G2).
  3. **Read** the current legacy row of every remaining key (state-based: many changes of one
     key cost one read and one write) and map it; a key with no row was deleted.
  4. **Apply** in one target transaction: upserts under the sink's version guard (G3), deletes,
     and the change ids (`ficus_applied_change`). Keys that cannot be mapped, or that the
     service refuses, become dead letters (G6); only they wait.
  5. **Mark** every claimed row done, in the legacy database, only after the target committed.
     A crash anywhere before that leaves the rows pending, to be delivered again (G1).

Any other failure (a database that went away, a misconfigured service) propagates; `run`
backs off and retries the batch, which is safe by the same argument. The engine and the target
are passed in.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, Row, select, update

from legacy_adapter import apply_loop, deadletters
from legacy_adapter.capture import FICUS_ORIGIN
from legacy_adapter.crashpoints import crash_point
from legacy_adapter.ficus_tables import change
from legacy_adapter.sources import LegacySource

logger = logging.getLogger("ficus.sync")

FORWARD = "forward"
DEFAULT_BATCH = 500
LOCKING_BACKENDS = ("postgresql", "mysql", "mariadb")


def now_us() -> int:
    return time.time_ns() // 1000


@dataclass(frozen=True, slots=True)
class Shard:
    index: int = 0
    count: int = 1

    @classmethod
    def parse(cls, text: str) -> Shard:
        """`K/N`, 0 <= K < N."""
        try:
            k, n = (int(part) for part in text.split("/"))
        except ValueError as e:
            raise ValueError(f"--shard {text!r} is not K/N (for example 0/4)") from e
        if n < 1 or not 0 <= k < n:
            raise ValueError(f"--shard {text!r}: need 0 <= K < N")
        return cls(k, n)


class ApplyCounts(Protocol):
    @property
    def applied(self) -> int: ...

    @property
    def unchanged(self) -> int: ...

    @property
    def skipped_older(self) -> int: ...


class Target(Protocol):
    """The service side of one feature (legacy_adapter.targets implements it with Django)."""

    def applied_ids(self, change_ids: Sequence[int]) -> set[int]: ...

    def apply(
        self, *, records: Sequence[Any], deleted: Sequence[int], change_ids: Sequence[int]
    ) -> ApplyCounts:
        """One service transaction: upsert, delete, record the change ids."""
        ...

    def is_row_error(self, error: Exception) -> bool:
        """True when `error` is about the rows given (refused data), not about the service
        (down, misconfigured): only row errors may become dead letters."""
        ...


_COUNTERS = (
    "claimed",
    "echoes",
    "replayed",
    "keys",
    "applied",
    "unchanged",
    "skipped_older",
    "deleted",
    "dead_lettered",
)


@dataclass(slots=True)
class BatchReport:
    claimed: int = 0
    echoes: int = 0
    replayed: int = 0  # already applied by a worker that died before marking them done
    keys: int = 0
    applied: int = 0
    unchanged: int = 0
    skipped_older: int = 0
    deleted: int = 0
    dead_lettered: int = 0
    max_lag_s: float = 0.0
    lags_s: list[float] = field(default_factory=list)

    def add(self, other: BatchReport) -> None:
        apply_loop.add_counts(self, other, _COUNTERS)
        self.max_lag_s = max(self.max_lag_s, other.max_lag_s)
        self.lags_s.extend(other.lags_s)

    def summary(self) -> str:
        return (
            f"forward: claimed {self.claimed}, applied {self.applied}, unchanged "
            f"{self.unchanged}, skipped as older {self.skipped_older}, deleted {self.deleted}, "
            f"echoes {self.echoes}, replayed {self.replayed}, dead letters {self.dead_lettered}"
        )


class ForwardApplier:
    def __init__(
        self,
        engine: Engine,
        source: LegacySource,
        target: Target,
        *,
        worker: str = "worker",
        shard: Shard = Shard(),
        batch_size: int = DEFAULT_BATCH,
        clock_us: Callable[[], int] = now_us,
        only_echoes: bool = False,
    ) -> None:
        self._engine = engine
        # While the service owns the writes only the echoes of reverse sync are marked done
        # here; anything else the legacy side writes stays pending and visible as backlog.
        self._only_echoes = only_echoes
        self._source = source
        self._target = target
        self._worker = worker[:64]
        self._shard = shard
        self._batch = batch_size
        self._clock_us = clock_us
        self._locking = engine.dialect.name in LOCKING_BACKENDS

    def _claim_query(self) -> Any:
        c = change.c
        query = (
            select(c.id, c.pk, c.origin, c.created_at_us)
            .where(c.done_at_us.is_(None), c.tbl == self._source.table)
            .order_by(c.id)
            .limit(self._batch)
        )
        if self._shard.count > 1:
            query = query.where(c.pk % self._shard.count == self._shard.index)
        if self._only_echoes:
            query = query.where(c.origin == FICUS_ORIGIN)
        if self._locking:
            query = query.with_for_update(skip_locked=True)
        return query

    def run_batch(self) -> BatchReport | None:
        """Claim, apply and mark one batch; None when nothing is pending."""
        if self._locking:
            # READ COMMITTED: no gap locks (MariaDB), so shards never wait on each other.
            with (
                self._engine.connect().execution_options(isolation_level="READ COMMITTED") as conn,
                conn.begin(),
            ):
                rows = conn.execute(self._claim_query()).all()
                if not rows:
                    return None
                report, poison = self._apply_claimed(rows)
                self._finish(conn, rows, report, poison)
        else:
            with self._engine.connect() as conn:
                rows = conn.execute(self._claim_query()).all()
            if not rows:
                return None
            report, poison = self._apply_claimed(rows)
            with self._engine.begin() as conn:
                self._finish(conn, rows, report, poison)
        crash_point("after-source-mark")
        return report

    def _apply_claimed(
        self, rows: Sequence[Row[Any]]
    ) -> tuple[BatchReport, dict[int, tuple[int | None, str]]]:
        """Steps 2-4 of a claimed batch, the same whether the claim holds locks or not."""
        crash_point("after-claim")
        report, poison = self._process(rows)
        crash_point("after-target-commit")
        return report, poison

    def drain(self, max_batches: int | None = None) -> BatchReport:
        return apply_loop.drain(self.run_batch, BatchReport(), max_batches)

    def _process(
        self, rows: Sequence[Row[Any]]
    ) -> tuple[BatchReport, dict[int, tuple[int | None, str]]]:
        report = BatchReport(claimed=len(rows))
        live = [row for row in rows if row.origin != FICUS_ORIGIN]
        report.echoes = len(rows) - len(live)
        done_before = self._target.applied_ids([row.id for row in live])
        todo = [row for row in live if row.id not in done_before]
        report.replayed = len(live) - len(todo)
        last_change: dict[int, int] = {}
        for row in todo:
            last_change[row.pk] = row.id
        keys = sorted(last_change)
        report.keys = len(keys)
        if not keys:
            return report, {}
        with self._engine.connect() as conn:
            current = self._source.read(conn, keys)
        converted, unmappable = apply_loop.convert_current(keys, current, self._source.to_record)
        records = [record for record in converted.values() if record is not None]
        deleted = [key for key, record in converted.items() if record is None]
        poison: dict[int, tuple[int | None, str]] = {}
        for key, reason in unmappable.items():
            poison[key] = (last_change[key], reason)
            logger.warning("%s key %s cannot be mapped: %s", self._source.feature, key, reason)
        crash_point("mid-batch")
        ids = [row.id for row in todo if row.pk not in poison]
        try:
            counts = self._target.apply(records=records, deleted=deleted, change_ids=ids)
            self._count(report, counts, len(deleted))
        except Exception as e:
            if not self._target.is_row_error(e):
                raise
            # Someone in the batch is refused: apply key by key so only that key waits.
            self._isolate(todo, records, deleted, poison, report)
        report.dead_lettered = len(poison)
        now = self._clock_us()
        report.lags_s = [max(0.0, (now - row.created_at_us) / 1e6) for row in rows]
        report.max_lag_s = max(report.lags_s, default=0.0)
        return report, poison

    def _isolate(
        self,
        todo: Sequence[Row[Any]],
        records: Sequence[Any],
        deleted: Sequence[int],
        poison: dict[int, tuple[int | None, str]],
        report: BatchReport,
    ) -> None:
        by_key: dict[int, list[int]] = {}
        for row in todo:
            by_key.setdefault(row.pk, []).append(row.id)
        singles: list[tuple[int, list[Any], list[int]]] = [
            (record.id, [record], []) for record in records
        ]
        singles += [(key, [], [key]) for key in deleted]
        for key, recs, dels in singles:
            try:
                counts = self._target.apply(records=recs, deleted=dels, change_ids=by_key[key])
                self._count(report, counts, len(dels))
            except Exception as e:
                if not self._target.is_row_error(e):
                    raise
                reason = f"the service refused the row ({type(e).__name__})"
                poison[key] = (by_key[key][-1], reason)
                logger.warning("%s key %s refused by the service: %s", self._source.feature, key,
                               type(e).__name__)  # fmt: skip

    @staticmethod
    def _count(report: BatchReport, counts: ApplyCounts | None, deleted: int) -> None:
        if counts is not None:
            report.applied += counts.applied
            report.unchanged += counts.unchanged
            report.skipped_older += counts.skipped_older
        report.deleted += deleted

    def _finish(
        self,
        conn: Connection,
        rows: Sequence[Row[Any]],
        report: BatchReport,
        poison: dict[int, tuple[int | None, str]],
    ) -> None:
        now = self._clock_us()
        table = self._source.table
        if poison:
            deadletters.record(
                conn,
                feature=self._source.feature,
                direction=FORWARD,
                tbl=table,
                poison=poison,
                now_us=now,
            )
        clean = sorted({row.pk for row in rows if row.origin != FICUS_ORIGIN} - set(poison))
        deadletters.resolve(conn, direction=FORWARD, tbl=table, keys=clean, now_us=now)
        ids = [row.id for row in rows]
        for start in range(0, len(ids), 500):
            conn.execute(
                update(change)
                .where(change.c.id.in_(ids[start : start + 500]))
                .values(done_at_us=now, claimed_by=self._worker, claimed_at_us=now)
            )
