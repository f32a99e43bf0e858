"""The operations behind `manage.py sync`, composed from the parts (Django side).

Reconcile of one feature (read both sides, store the run, optionally repair), the status of
one feature with its outbox, and the worker's step in each direction. The `sync` command and
the evidence provider call these; each takes the legacy engine from its caller.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from django.db import DatabaseError
from django.db.models import Max, Min
from sqlalchemy import Engine, delete, func, insert, select

from legacy_adapter.features import FeatureSync
from legacy_adapter.ficus_tables import change, reconcile_run
from legacy_adapter.forward_apply import FORWARD, ForwardApplier, now_us
from legacy_adapter.ownership import REVERSE
from legacy_adapter.reconcile import Reconciler, ReconcileReport
from legacy_adapter.reverse_apply import ReverseApplier, reverse_state
from legacy_adapter.status import FeatureStatus, ReverseState, feature_status


@dataclass(frozen=True, slots=True)
class ReconcileOutcome:
    report: ReconcileReport
    repaired: int
    seconds: float

    @property
    def drift_rows(self) -> int:
        return self.report.drift.rows


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
    direction: str = FORWARD,
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
    repaired = 0
    if repair and report.drift.rows:
        repaired = repair_keys(engine, sync, report.drift.keys(), direction=direction)
    finished = now_us()
    table = f"{sync.source.table} -> {sync.target.alias}"
    detail = {
        "per_table": {table: report.drift.as_dict()},
        "keys": report.drift.keys()[:50],
        "ranges": report.ranges,
        "differing_ranges": report.differing_ranges,
    }
    with engine.begin() as conn:
        conn.execute(
            insert(reconcile_run).values(
                feature=sync.name,
                started_at_us=started,
                finished_at_us=finished,
                compared=report.compared,
                drift_rows=report.drift.rows,
                repaired=repaired,
                detail=json.dumps(detail),
            )
        )
    return ReconcileOutcome(report, repaired, (finished - started) / 1e6)


def repair_keys(
    engine: Engine, sync: FeatureSync, keys: list[int], *, direction: str = FORWARD
) -> int:
    """Queue `keys` as changes in the owner's direction and apply them now (state-based)."""
    if not keys:
        return 0
    if direction == REVERSE:
        from django.db import transaction

        from extracted.core.outbox import UPSERT, record_change

        with transaction.atomic(using=sync.target.alias):
            for key in keys:
                record_change(
                    sync.target.outbox,
                    aggregate=sync.source.aggregate,
                    key=key,
                    operation=UPSERT,
                    request_id="ficus-reconcile",
                )
        ReverseApplier(engine, sync.target).drain()
        return len(keys)
    with engine.begin() as conn:
        conn.execute(
            insert(change),
            [
                {"tbl": sync.source.table, "pk": key, "op": "R", "created_at_us": now_us()}
                for key in keys
            ],
        )
    ForwardApplier(engine, sync.source, sync.target, worker="reconcile").drain()
    return len(keys)


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
