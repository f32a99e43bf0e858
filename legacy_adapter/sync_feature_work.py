"""One feature's work in a sync worker: its two appliers, built once, and its reports.

What legacy_adapter.sync_worker.SyncLoop drives for each feature (Django side: the reverse
applier, the status and the pruning read the services' databases). The appliers hold no state
between batches, so one pair serves every step of a plan generation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine

from legacy_adapter.features import FeatureSync
from legacy_adapter.forward_apply import FORWARD, ForwardApplier, Shard, now_us
from legacy_adapter.metrics import SyncMetrics
from legacy_adapter.operations import prune, publish_report, status_of
from legacy_adapter.reverse_apply import REVERSE, ReverseApplier

BOTH = "both"
DIRECTIONS = (BOTH, FORWARD, REVERSE)


@dataclass(frozen=True, slots=True)
class WorkerOptions:
    """What every feature of one worker shares (from `sync run`'s arguments)."""

    worker: str  # host:pid:shard, stamped on the change rows it marks
    shard: Shard
    direction: str = BOTH
    batch_size: int = 500
    keep_done_us: int = 24 * 3600 * 1_000_000
    verbose: bool = False


class FeatureWork:
    def __init__(
        self,
        engine: Engine,
        sync: FeatureSync,
        options: WorkerOptions,
        metrics: SyncMetrics,
        write: Callable[[str], None],
    ) -> None:
        self._engine = engine
        self._sync = sync
        self._options = options
        self._metrics = metrics
        self._write = write
        self._forward: ForwardApplier | None = None
        self._reverse: ReverseApplier | None = None
        if options.direction in (BOTH, FORWARD):
            self._forward = ForwardApplier(
                engine,
                sync.source,
                sync.target,
                worker=options.worker,
                shard=options.shard,
                batch_size=options.batch_size,
            )
        # The outbox is claimed with SKIP LOCKED, but one reverse worker is plenty and keeps
        # SQLite's single writer simple: shard 0 runs it.
        if options.direction in (BOTH, REVERSE) and options.shard.index == 0:
            self._reverse = ReverseApplier(engine, sync.target, batch_size=options.batch_size)

    @property
    def name(self) -> str:
        return self._sync.name

    def step(self) -> bool:
        """One batch in each direction this worker runs; True when anything was done."""
        busy = False
        name, metrics = self._sync.name, self._metrics
        if self._forward is not None:
            report = self._forward.run_batch()
            if report is not None:
                busy = True
                metrics.applied.labels(name, FORWARD).inc(report.applied + report.deleted)
                metrics.count_conflicts(name, report.conflicts, report.refused)
                for lag in report.lags_s:
                    metrics.apply_lag.labels(name).observe(lag)
                if self._options.verbose:
                    self._write(f"{name} {report.summary()}")
        if self._reverse is not None:
            back = self._reverse.run_batch()
            if back is not None:
                busy = True
                metrics.applied.labels(name, REVERSE).inc(back.written + back.deleted)
                metrics.count_conflicts(name, back.conflicts, back.refused)
                if self._options.verbose:
                    self._write(f"{name} {back.summary()}")
        return busy

    def report(self) -> None:
        status = status_of(self._engine, self._sync)
        self._metrics.observe_status(status)
        publish_report(self._engine, self._sync, status, worker=self._options.worker)

    def prune(self) -> None:
        older_than_us = now_us() - self._options.keep_done_us
        prune(self._engine, self._sync, older_than_us=older_than_us)
