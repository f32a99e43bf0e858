"""The operations behind `manage.py sync`, composed from the parts (Django side).

Reconcile of one feature (read both sides, store the run, optionally repair), the status of
one feature with its outbox, and what the worker reports of it. The `sync` command and the
evidence provider call these; each takes the legacy engine from its caller.

Repair puts each differing record's *owner's* state on the other side (the one ownership
rule decides, per record), through the appliers' own forced path: `O` change rows for records
legacy owns, `restore` outbox rows for records the service owns. A record with changes still
in flight in either direction is not drift but backlog: repair leaves it to sync, so it never
deletes or overwrites a write that has not reached the other side yet. When a sync worker is
running (it reported within the last few seconds), repair only queues and waits for it, so two
appliers never race on SQLite's one writer; otherwise it applies the queue itself. It reports
what it changed by comparing the repaired records again afterwards, never by counting what it
queued.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.db import DatabaseError
from django.db.models import Max, Min
from sqlalchemy import Engine, delete, func, insert, select, update

from domain.ownership import Owner
from domain.records.source_spec import Canonical
from legacy_adapter.change_ops import OWNER_STATE
from legacy_adapter.features import FeatureSync
from legacy_adapter.ficus_tables import change, reconcile_run, sync_report
from legacy_adapter.forward_apply import ForwardApplier, now_us
from legacy_adapter.reconcile import Reconciler, ReconcileReport
from legacy_adapter.reverse_apply import ReverseApplier, reverse_state
from legacy_adapter.status import FeatureStatus, ReverseState, feature_status

# A worker reports every 2 s; one silent for longer than this is not running.
WORKER_FRESH_SECONDS = 10.0
REPAIR_WAIT_SECONDS = 60.0


@dataclass(slots=True)
class RepairReport:
    """What a repair did: records it changed (they now agree), records it left to sync
    because changes of them are in flight, and records that still differ afterwards."""

    changed: list[int] = field(default_factory=list)
    in_flight: list[int] = field(default_factory=list)
    still_different: list[int] = field(default_factory=list)
    by_owner: dict[str, int] = field(default_factory=dict)  # records queued, per owner
    applied_by: str = "repair"  # "repair" itself, or "the running worker"


@dataclass(frozen=True, slots=True)
class ReconcileOutcome:
    report: ReconcileReport
    repair: RepairReport | None
    seconds: float
    in_flight: tuple[int, ...] = ()  # differing records with changes still on their way

    @property
    def repaired(self) -> int:
        return len(self.repair.changed) if self.repair is not None else 0

    @property
    def drift_rows(self) -> int:
        """Rows that differ and are not merely in flight (what the gates read)."""
        return max(0, self.report.drift.rows - len(self.in_flight))


def _bounds(engine: Engine, sync: FeatureSync) -> tuple[int, int] | None:
    key = sync.source.key_attr
    with engine.connect() as conn:
        lo_l, hi_l = conn.execute(select(func.min(key), func.max(key))).one()
    found = sync.target.model._default_manager.using(sync.target.alias).aggregate(
        lo=Min("pk"), hi=Max("pk")
    )
    lows = [v for v in (lo_l, found["lo"]) if v is not None]
    highs = [v for v in (hi_l, found["hi"]) if v is not None]
    if not lows:
        return None
    return int(min(lows)), int(max(highs)) + 1


def reconcile_feature(
    engine: Engine,
    sync: FeatureSync,
    *,
    repair: bool = False,
    bucket: int = 4096,
    leaf: int = 32,
) -> ReconcileOutcome:
    started = now_us()
    with engine.connect() as conn:

        def legacy_rows(lo: int, hi: int):  # type: ignore[no-untyped-def]
            return sync.source.canonical_rows(conn, lo=lo, hi=hi)

        def service_rows(lo: int, hi: int):  # type: ignore[no-untyped-def]
            return sync.target.canonical_rows(lo=lo, hi=hi)

        bounds = _bounds(engine, sync)
        reconciler = Reconciler(legacy_rows, service_rows, bucket=bucket, leaf=leaf)
        report = reconciler.run(*bounds) if bounds else ReconcileReport()
    differing = report.drift.keys()
    in_flight = sorted(in_flight_keys(engine, sync, differing))
    repaired: RepairReport | None = None
    if repair and differing:
        repaired = repair_keys(engine, sync, differing)
    finished = now_us()
    table = f"{sync.source.table} -> {sync.target.alias}"
    detail = {
        "per_table": {table: report.drift.as_dict()},
        "keys": differing[:50],
        "in_flight": in_flight[:50],
        "ranges": report.ranges,
        "differing_ranges": report.differing_ranges,
    }
    outcome = ReconcileOutcome(report, repaired, 0.0, tuple(in_flight))
    with engine.begin() as conn:
        conn.execute(
            insert(reconcile_run).values(
                feature=sync.name,
                started_at_us=started,
                finished_at_us=finished,
                compared=report.compared,
                drift_rows=outcome.drift_rows,
                repaired=outcome.repaired,
                detail=json.dumps(detail),
            )
        )
    return ReconcileOutcome(report, repaired, (finished - started) / 1e6, tuple(in_flight))


def in_flight_keys(engine: Engine, sync: FeatureSync, keys: Iterable[int]) -> set[int]:
    """Keys with a change on its way in either direction: a pending change row in legacy or a
    pending outbox row in the service."""
    wanted = sorted(set(keys))
    if not wanted:
        return set()
    c = change.c
    found: set[int] = set()
    with engine.connect() as conn:
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            found |= set(
                conn.execute(
                    select(c.pk).where(
                        c.tbl == sync.source.table, c.pk.in_(chunk), c.done_at_us.is_(None)
                    )
                ).scalars()
            )
    return found | sync.target.unwritten_keys(wanted)


def worker_running(engine: Engine, sync: FeatureSync) -> bool:
    """Whether a sync worker reported for this feature within WORKER_FRESH_SECONDS."""
    r = sync_report.c
    with engine.connect() as conn:
        at = conn.execute(select(r.reported_at_us).where(r.feature == sync.name)).scalar()
    return at is not None and now_us() - int(at) < WORKER_FRESH_SECONDS * 1_000_000


def repair_keys(
    engine: Engine,
    sync: FeatureSync,
    keys: list[int],
    *,
    wait_seconds: float = REPAIR_WAIT_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
) -> RepairReport:
    """Put each record's owner's state on the other side (see the module docstring)."""
    result = RepairReport()
    flying = in_flight_keys(engine, sync, keys)
    result.in_flight = sorted(flying)
    todo = [key for key in sorted(set(keys)) if key not in flying]
    if not todo:
        return result
    ownership = sync.target.ownership()
    by_owner: dict[Owner, list[int]] = {Owner.LEGACY: [], Owner.SERVICE: []}
    for key in todo:
        by_owner[ownership.owner_of(key)].append(key)
    result.by_owner = {owner.value: len(found) for owner, found in by_owner.items() if found}
    if by_owner[Owner.LEGACY]:
        at = now_us()
        with engine.begin() as conn:
            conn.execute(
                insert(change),
                [
                    {"tbl": sync.source.table, "pk": key, "op": OWNER_STATE, "created_at_us": at}
                    for key in by_owner[Owner.LEGACY]
                ],
            )
    if by_owner[Owner.SERVICE]:
        sync.target.restore_owner_state(by_owner[Owner.SERVICE], request_id="ficus-repair")
    if worker_running(engine, sync):
        result.applied_by = "the running worker"
        deadline = time.monotonic() + wait_seconds
        while time.monotonic() < deadline and in_flight_keys(engine, sync, todo):
            sleep(0.2)
    else:
        ForwardApplier(engine, sync.source, sync.target, worker="repair").drain()
        ReverseApplier(engine, sync.target).drain()
    agree = _agreeing(engine, sync, todo)
    result.changed = sorted(agree)
    result.still_different = sorted(set(todo) - agree)
    return result


def _agreeing(engine: Engine, sync: FeatureSync, keys: list[int]) -> set[int]:
    """The keys whose two sides now hold the same canonical row (or neither has one)."""
    agree: set[int] = set()
    with engine.connect() as conn:
        for key in keys:
            legacy: list[tuple[int, Canonical]] = list(
                sync.source.canonical_rows(conn, lo=key, hi=key + 1)
            )
            service = list(sync.target.canonical_rows(lo=key, hi=key + 1))
            if legacy == service:
                agree.add(key)
    return agree


def publish_report(
    engine: Engine, sync: FeatureSync, status: FeatureStatus, *, worker: str
) -> None:
    """Store what this worker sees of the outbox, for a control plane without the service's
    database (legacy_adapter.evidence) and for repair to know a worker is running. Nothing
    is stored while the outbox cannot be read: a stale report then says "unknown"."""
    if status.reverse_backlog is None:
        return
    values = {
        "worker": worker[:64],
        "reported_at_us": now_us(),
        "reverse_backlog": status.reverse_backlog or 0,
        "reverse_lag_us": int((status.reverse_lag_seconds or 0.0) * 1_000_000),
    }
    r = sync_report.c
    with engine.begin() as conn:
        updated = conn.execute(update(sync_report).where(r.feature == sync.name).values(**values))
        if updated.rowcount == 0:
            conn.execute(insert(sync_report).values(feature=sync.name, **values))


def prune(engine: Engine, sync: FeatureSync, *, older_than_us: int) -> int:
    """Delete change rows marked done before `older_than_us`, and their applied-change
    records. A done row is never delivered again, so its record has done its job."""
    c = change.c
    with engine.begin() as conn:
        ids = list(
            conn.execute(
                select(c.id)
                .where(c.tbl == sync.source.table, c.done_at_us < older_than_us)
                .limit(10_000)
            ).scalars()
        )
        if not ids:
            return 0
        for start in range(0, len(ids), 500):
            conn.execute(delete(change).where(c.id.in_(ids[start : start + 500])))
    sync.target.forget_applied(ids)
    return len(ids)


def status_of(engine: Engine, sync: FeatureSync) -> FeatureStatus:
    try:
        state: ReverseState | None = reverse_state(sync.target)
    except DatabaseError:  # the outbox cannot be read (no table yet, server away): unknown
        state = None
    reader = (lambda: state) if state is not None else None
    return feature_status(engine, sync.name, sync.source.table, reader)
