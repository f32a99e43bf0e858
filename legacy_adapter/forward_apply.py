"""Forward apply, legacy → service, driven by the capture triggers' `ficus_change` rows.

It always runs, whoever owns the feature: other legacy modules, batch jobs and interface
engines keep writing the legacy database after a cutover, and ownership decides what happens
to each change (the conflict rule, legacy_adapter/conflicts.py), not whether it is read.

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
     key cost one read and one write), its version (legacy_adapter/versions.py), and map it;
     a key with no row was deleted. A record that takes a unique value (an MRN) another
     record still holds on the service brings that record's current row into the batch.
  4. **Apply** in one target transaction: upserts under the sink's version guard (G3: the
     newest write wins; `O` rows, the owner's state, whatever the versions), deletes unless
     the service wrote the record later, the change ids (`ficus_applied_change`), and, for
     legacy writes the plan's `owner_wins` refuses, the service's state queued back for
     legacy. Keys that cannot be mapped, or that the service refuses, become dead letters
     (G6); only they wait.
  5. **Mark** every claimed row done, in the legacy database, only after the target committed,
     with the batch's dead letters and conflicts. A crash anywhere before that leaves the rows
     pending, to be delivered again (G1).

Any other failure (a database that went away, a misconfigured service) propagates; `run`
backs off and retries the batch, which is safe by the same argument. The engine and the target
are passed in; what a target must do is legacy_adapter.forward_contract.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, Row, select, update

from domain.ownership import FeatureOwnership, Owner
from legacy_adapter import apply_loop, conflicts, deadletters
from legacy_adapter.capture import FICUS_ORIGIN
from legacy_adapter.change_ops import OWNER_STATE, WRITE_OPS
from legacy_adapter.conflicts import CONCURRENT, REFUSED, Conflict
from legacy_adapter.crashpoints import crash_point
from legacy_adapter.ficus_tables import change
from legacy_adapter.forward_contract import (
    ApplyCounts,
    BatchReport,
    Shard,
    Target,
    TargetCounts,
    now_us,
)
from legacy_adapter.sources import LegacySource
from legacy_adapter.versions import legacy_versions, resolution_us

logger = logging.getLogger("ficus.sync")

# The contract's names, where the applier's callers have always imported them from.
__all__ = [
    "DEFAULT_BATCH",
    "FORWARD",
    "ApplyCounts",
    "BatchReport",
    "ForwardApplier",
    "Shard",
    "Target",
    "TargetCounts",
    "now_us",
]

FORWARD = "forward"
DEFAULT_BATCH = 500
LOCKING_BACKENDS = ("postgresql", "mysql", "mariadb")
# Unique values can chain (A takes B's MRN, B takes C's ...): follow a few links, no more.
MAX_HOLDER_ROUNDS = 3
EVERY_KEY = Shard()  # one worker: shard 0 of 1


@dataclass(slots=True)
class _Keys:
    """The claimed, not yet applied rows of a batch, by key."""

    last_change: dict[int, int] = field(default_factory=dict)
    change_ids: dict[int, list[int]] = field(default_factory=dict)
    writes: set[int] = field(default_factory=set)  # keys with a legacy write among them
    forced: set[int] = field(default_factory=set)  # keys whose owner's state is put back

    @classmethod
    def of(cls, rows: Sequence[Row[Any]]) -> _Keys:
        found = cls()
        for row in rows:
            found.last_change[row.pk] = row.id
            found.change_ids.setdefault(row.pk, []).append(row.id)
            if row.op in WRITE_OPS:
                found.writes.add(row.pk)
            elif row.op == OWNER_STATE:
                found.forced.add(row.pk)
        return found


@dataclass(slots=True)
class _Outcome:
    """What steps 2-4 decided, for step 5."""

    report: BatchReport
    poison: dict[int, tuple[int | None, str]] = field(default_factory=dict)
    conflicts: list[Conflict] = field(default_factory=list)
    ownership: FeatureOwnership | None = None


class ForwardApplier:
    def __init__(
        self,
        engine: Engine,
        source: LegacySource,
        target: Target,
        *,
        worker: str = "worker",
        shard: Shard = EVERY_KEY,
        batch_size: int = DEFAULT_BATCH,
        clock_us: Callable[[], int] = now_us,
    ) -> None:
        self._engine = engine
        self._source = source
        self._target = target
        self._worker = worker[:64]
        self._shard = shard
        self._batch = batch_size
        self._clock_us = clock_us
        self._locking = engine.dialect.name in LOCKING_BACKENDS
        self._resolution = resolution_us(engine.dialect.name)

    def _claim_query(self) -> Any:
        c = change.c
        query = (
            select(c.id, c.pk, c.op, c.origin, c.created_at_us)
            .where(c.done_at_us.is_(None), c.tbl == self._source.table)
            .order_by(c.id)
            .limit(self._batch)
        )
        if self._shard.count > 1:
            query = query.where(c.pk % self._shard.count == self._shard.index)
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
                outcome = self._apply_claimed(rows)
                self._finish(conn, rows, outcome)
        else:
            with self._engine.connect() as conn:
                rows = conn.execute(self._claim_query()).all()
            if not rows:
                return None
            outcome = self._apply_claimed(rows)
            with self._engine.begin() as conn:
                self._finish(conn, rows, outcome)
        crash_point("after-source-mark")
        return outcome.report

    def _apply_claimed(self, rows: Sequence[Row[Any]]) -> _Outcome:
        """Steps 2-4 of a claimed batch, the same whether the claim holds locks or not."""
        crash_point("after-claim")
        outcome = self._process(rows)
        crash_point("after-target-commit")
        return outcome

    def drain(self, max_batches: int | None = None) -> BatchReport:
        return apply_loop.drain(self.run_batch, BatchReport(), max_batches)

    def _read(self, keys: Sequence[int]) -> tuple[dict[int, Any], dict[int, int]]:
        """The current legacy rows of `keys` and the version of each key."""
        with self._engine.connect() as conn:
            current = self._source.read(conn, keys)
            upd_ts = {key: row.get("UPD_TS") for key, row in current.items()}
            versions = legacy_versions(conn, self._source.table, keys, upd_ts)
        return current, versions

    def _process(self, rows: Sequence[Row[Any]]) -> _Outcome:
        report = BatchReport(claimed=len(rows))
        outcome = _Outcome(report)
        live = [row for row in rows if row.origin != FICUS_ORIGIN]
        report.echoes = len(rows) - len(live)
        done_before = self._target.applied_ids([row.id for row in live])
        todo = [row for row in live if row.id not in done_before]
        report.replayed = len(live) - len(todo)
        found = _Keys.of(todo)
        keys = sorted(found.last_change)
        report.keys = len(keys)
        now = self._clock_us()
        report.lags_s = [max(0.0, (now - row.created_at_us) / 1e6) for row in rows]
        report.max_lag_s = max(report.lags_s, default=0.0)
        if not keys:
            return outcome
        ownership = outcome.ownership = self._target.ownership()
        current, versions = self._read(keys)
        converted, unmappable = apply_loop.convert_current(keys, current, self._source.to_record)
        for key, reason in unmappable.items():
            outcome.poison[key] = (found.last_change[key], reason)
            logger.warning("%s key %s cannot be mapped: %s", self._source.feature, key, reason)
        refused = self._refused(found, ownership, versions, converted)
        records = [r for k, r in converted.items() if r is not None and k not in refused]
        deleted = [k for k, r in converted.items() if r is None and k not in refused]
        self._add_holders(records, versions)
        outcome.conflicts += [
            Conflict(k, REFUSED, Owner.SERVICE, Owner.LEGACY, None, versions[k]) for k in refused
        ]
        report.refused = len(refused)
        unwritten = self._target.unwritten_keys(sorted(found.writes - refused))
        crash_point("mid-batch")
        ids = [row.id for row in todo if row.pk not in outcome.poison]
        forced = frozenset(found.forced)
        ties = self._service_wins_ties(ownership, keys)
        try:
            counts = self._target.apply(
                records=records,
                deleted=deleted,
                change_ids=ids,
                versions=versions,
                forced=forced,
                restore=sorted(refused),
                resolution_us=self._resolution,
                service_wins_ties=ties,
            )
            self._count(report, counts, deleted)
            outcome.conflicts += self._lost(found, counts, versions, unwritten)
        except Exception as e:
            if not self._target.is_row_error(e):
                raise
            # Someone in the batch is refused: apply key by key so only that key waits.
            self._isolate(found, records, deleted, versions, refused, unwritten, ties, outcome)
        report.dead_lettered = len(outcome.poison)
        report.conflicts = sum(c.kind == CONCURRENT for c in outcome.conflicts)
        return outcome

    @staticmethod
    def _service_wins_ties(ownership: FeatureOwnership, keys: Sequence[int]) -> frozenset[int]:
        """Keys whose ties go to the service (conflicts.tie_goes_to: the owner)."""
        if ownership.service_share <= 0:
            return frozenset()
        return frozenset(
            key for key in keys if conflicts.tie_goes_to(ownership, key) is Owner.SERVICE
        )

    def _refused(
        self,
        found: _Keys,
        ownership: FeatureOwnership,
        versions: Mapping[int, int],
        converted: Mapping[int, Any],
    ) -> set[int]:
        """Legacy writes of records the service owns that the plan's `owner_wins` refuses
        (conflicts.refuses); creates are always applied, so only records the service has."""
        candidates = [
            key
            for key in sorted(found.writes - found.forced)
            if key in converted
            and conflicts.refuses(ownership, key, writer=Owner.LEGACY, version=versions[key])
        ]
        if not candidates:
            return set()
        return self._target.existing_keys(candidates)

    def _add_holders(self, records: list[Any], versions: dict[int, int]) -> None:
        """Bring the records that hold a unique value a record of the batch takes into the
        batch, as they are in legacy now (the other half of an MRN swap), so the service
        applies the swap in one transaction instead of refusing both halves forever."""
        for _round in range(MAX_HOLDER_ROUNDS):
            holders = sorted(self._target.unique_holders(records) - {r.id for r in records})
            if not holders:
                return
            current, found = self._read(holders)
            converted, _unmappable = apply_loop.convert_current(
                holders, current, self._source.to_record
            )
            added = [record for record in converted.values() if record is not None]
            if not added:
                return
            records += added
            versions.update(found)

    def _lost(
        self,
        found: _Keys,
        counts: TargetCounts,
        versions: Mapping[int, int],
        unwritten: set[int],
    ) -> list[Conflict]:
        """The writes that lost (rule 1 of legacy_adapter.conflicts), for the log: a legacy
        write older than the service's, or a service write not yet in legacy that a newer
        legacy write replaced."""
        stored = counts.stored_versions or {}
        lost = [
            Conflict(key, CONCURRENT, Owner.SERVICE, Owner.LEGACY, stored.get(key), versions[key])
            for key in sorted((counts.older_keys | counts.kept_keys) & found.writes)
        ]
        lost += [
            Conflict(key, CONCURRENT, Owner.LEGACY, Owner.SERVICE, versions[key], stored[key])
            for key in sorted(counts.applied_keys & unwritten)
            if key in stored and key not in found.forced
        ]
        return lost

    def _isolate(
        self,
        found: _Keys,
        records: Sequence[Any],
        deleted: Sequence[int],
        versions: Mapping[int, int],
        refused: set[int],
        unwritten: set[int],
        ties: frozenset[int],
        outcome: _Outcome,
    ) -> None:
        singles: list[tuple[int, list[Any], list[int]]] = [
            (record.id, [record], []) for record in records
        ]
        singles += [(key, [], [key]) for key in deleted]
        singles += [(key, [], []) for key in sorted(refused)]
        forced = frozenset(found.forced)
        for key, recs, dels in singles:
            known = dict(versions)
            self._add_holders(recs, known)  # a swap's two halves apply together or not at all
            try:
                counts = self._target.apply(
                    records=recs,
                    deleted=dels,
                    change_ids=found.change_ids.get(key, []),
                    versions=known,
                    forced=forced,
                    restore=[key] if key in refused else [],
                    resolution_us=self._resolution,
                    service_wins_ties=ties,
                )
                self._count(outcome.report, counts, dels)
                outcome.conflicts += self._lost(found, counts, versions, unwritten)
            except Exception as e:
                if not self._target.is_row_error(e):
                    raise
                if key not in found.last_change:
                    continue  # a record brought in for a unique value: its own change comes
                reason = f"the service refused the row ({type(e).__name__})"
                outcome.poison[key] = (found.last_change[key], reason)
                logger.warning("%s key %s refused by the service: %s", self._source.feature, key,
                               type(e).__name__)  # fmt: skip

    @staticmethod
    def _count(report: BatchReport, counts: TargetCounts, deleted: Sequence[int]) -> None:
        report.applied += counts.applied
        report.unchanged += counts.unchanged
        report.skipped_older += counts.skipped_older + len(counts.kept_keys)
        gone = [key for key in deleted if key not in counts.kept_keys]
        report.deleted += len(gone)
        report.changed_keys |= set(counts.applied_keys) | set(gone)

    def _finish(self, conn: Connection, rows: Sequence[Row[Any]], outcome: _Outcome) -> None:
        now = self._clock_us()
        table = self._source.table
        poison = outcome.poison
        if poison:
            deadletters.record(
                conn,
                feature=self._source.feature,
                direction=FORWARD,
                tbl=table,
                poison=poison,
                now_us=now,
            )
        if outcome.conflicts and outcome.ownership is not None:
            conflicts.record(
                conn, outcome.ownership, table=table, conflicts=outcome.conflicts, now_us=now
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
