"""Where sync stands, per feature, read from the databases (nothing is kept in a process).

Forward backlog and lag come from pending `ficus_change` rows (lag = age of the oldest one,
0 when there is none), dead letters from `ficus_dead_letter`, the last reconcile from
`ficus_reconcile_run`, conflicts from `ficus_conflict`. The reverse side (the service's
outbox) is passed in as a callable, because reading it is Django's business. Used by `sync
status`, the metrics and the gates' evidence provider alike, so all three always agree.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine, func, select

from legacy_adapter import deadletters
from legacy_adapter.ficus_tables import change, conflict, reconcile_run
from legacy_adapter.forward_apply import now_us


@dataclass(frozen=True, slots=True)
class ReverseState:
    backlog: int
    lag_seconds: float


@dataclass(frozen=True, slots=True)
class LastReconcile:
    finished_at_us: int
    compared: int
    drift_rows: int
    repaired: int
    per_table: dict[str, dict[str, int]]


@dataclass(frozen=True, slots=True)
class FeatureStatus:
    feature: str
    forward_backlog: int
    forward_lag_seconds: float
    reverse_backlog: int | None  # None: the service's outbox could not be read
    reverse_lag_seconds: float | None
    dead_letters: int
    last_reconcile: LastReconcile | None
    conflicts: int = 0  # rows of the conflict log for this feature

    @property
    def lag_seconds(self) -> float:
        return max(self.forward_lag_seconds, self.reverse_lag_seconds or 0.0)


def feature_status(
    engine: Engine,
    feature: str,
    table: str,
    reverse: Callable[[], ReverseState] | None = None,
    *,
    clock_us: Callable[[], int] = now_us,
) -> FeatureStatus:
    c = change.c
    with engine.connect() as conn:
        backlog, oldest = conn.execute(
            select(func.count(), func.min(c.created_at_us)).where(
                c.done_at_us.is_(None), c.tbl == table
            )
        ).one()
        letters = deadletters.count_open(conn, feature)
        logged = conn.execute(
            select(func.count()).select_from(conflict).where(conflict.c.feature == feature)
        ).scalar_one()
        r = reconcile_run.c
        last = conn.execute(
            select(reconcile_run).where(r.feature == feature).order_by(r.id.desc()).limit(1)
        ).first()
    lag = max(0.0, (clock_us() - oldest) / 1e6) if oldest is not None else 0.0
    reverse_state = reverse() if reverse is not None else None
    return FeatureStatus(
        feature=feature,
        forward_backlog=int(backlog),
        forward_lag_seconds=lag,
        reverse_backlog=reverse_state.backlog if reverse_state else None,
        reverse_lag_seconds=reverse_state.lag_seconds if reverse_state else None,
        dead_letters=letters,
        conflicts=int(logged),
        last_reconcile=(
            LastReconcile(
                last.finished_at_us,
                last.compared,
                last.drift_rows,
                last.repaired,
                json.loads(last.detail).get("per_table", {}),
            )
            if last is not None
            else None
        ),
    )
