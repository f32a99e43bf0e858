"""Evidence provider for gates and data-aware rollback (contract C3).

`sync_evidence(feature)` → {"sync_lag_seconds", "drift_rows", "reverse_backlog"}:
  * sync_lag_seconds: age of the oldest change not yet applied, in either direction;
  * drift_rows: what the last `sync reconcile FEATURE` found (None until one has run: a gate
    with a drift threshold then fails as "unavailable", which is the point);
  * reverse_backlog: outbox rows not yet in legacy plus open reverse dead letters (a change
    that cannot reach legacy is backlog too: rollback must not leave it behind).

The legacy side is read from the legacy database. The service side (its outbox) is read live
when this process has the feature's service app; a control-plane process has none (it runs
with `FICUS_SERVICE=control`), so it reads what the feature's sync worker last reported
(`ficus_sync_report`, written every 2 s). A report older than `STALE_SECONDS` means no worker
is running: the outbox is then unknown, `reverse_backlog` and `sync_lag_seconds` are left
out, and the gates that need them refuse as "unavailable", never pass.

It raises when the legacy database cannot be read; the gates then treat every key as
unavailable.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.conf import settings
from sqlalchemy import Engine, func, select

from legacy_adapter.engines import create_legacy_engine
from legacy_adapter.features import feature_source, feature_sync, has_service
from legacy_adapter.ficus_tables import dead_letter, sync_report
from legacy_adapter.forward_apply import now_us
from legacy_adapter.reverse_apply import REVERSE, reverse_state
from legacy_adapter.status import ReverseState, feature_status

STALE_SECONDS = 10.0


def _reported(engine: Engine, feature: str) -> ReverseState | None:
    """The outbox as the feature's sync worker last reported it, if that report is fresh."""
    r = sync_report.c
    with engine.connect() as conn:
        row = conn.execute(
            select(r.reported_at_us, r.reverse_backlog, r.reverse_lag_us).where(
                r.feature == feature
            )
        ).first()
    if row is None or now_us() - int(row.reported_at_us) > STALE_SECONDS * 1_000_000:
        return None
    return ReverseState(backlog=int(row.reverse_backlog), lag_seconds=row.reverse_lag_us / 1e6)


def sync_evidence(feature: str) -> Mapping[str, float | int | None]:
    source = feature_source(feature)
    engine = create_legacy_engine(settings.LEGACY_DATABASE_URL)
    try:
        if has_service(feature):
            reverse: ReverseState | None = reverse_state(feature_sync(feature).target)
        else:
            reverse = _reported(engine, feature)
        reader = (lambda: reverse) if reverse is not None else None
        status = feature_status(engine, feature, source.table, reader)
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
    evidence: dict[str, float | int | None] = {
        "drift_rows": last.drift_rows if last is not None else None,
    }
    if reverse is not None:
        evidence["sync_lag_seconds"] = round(status.lag_seconds, 3)
        evidence["reverse_backlog"] = reverse.backlog + int(stuck)
    return evidence
