"""Evidence provider for gates and data-aware rollback (contract C3).

`sync_evidence(feature)` → {"sync_lag_seconds", "drift_rows", "reverse_backlog"}:
  * sync_lag_seconds: age of the oldest change not yet applied, in either direction;
  * drift_rows: what the last `sync reconcile FEATURE` found (None until one has run: a gate
    with a drift threshold then fails as "unavailable", which is the point);
  * reverse_backlog: outbox rows not yet in legacy plus open reverse dead letters (a change
    that cannot reach legacy is backlog too: rollback must not leave it behind).
It raises when a database cannot be read; the gates then treat every key as unavailable.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.conf import settings
from sqlalchemy import func, select

from legacy_adapter.engines import create_legacy_engine
from legacy_adapter.features import feature_sync
from legacy_adapter.ficus_tables import dead_letter
from legacy_adapter.reverse_apply import REVERSE, reverse_state
from legacy_adapter.status import feature_status


def sync_evidence(feature: str) -> Mapping[str, float | int | None]:
    sync = feature_sync(feature)
    engine = create_legacy_engine(settings.LEGACY_DATABASE_URL)
    try:
        reverse = reverse_state(sync.target)
        status = feature_status(engine, feature, sync.source.table, lambda: reverse)
        c = dead_letter.c
        with engine.connect() as conn:
            stuck = conn.execute(
                select(func.count()).where(
                    c.feature == feature, c.direction == REVERSE, c.resolved_at_us.is_(None)
                )
            ).scalar_one()
    finally:
        engine.dispose()
    last = status.last_reconcile
    return {
        "sync_lag_seconds": round(status.lag_seconds, 3),
        "drift_rows": last.drift_rows if last is not None else None,
        "reverse_backlog": reverse.backlog + int(stuck),
    }
