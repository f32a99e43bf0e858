"""How long shadow evidence is kept: one rule for the proxy's flusher and the control plane.

A feature's samples and tallies are kept for its plan's `shadow.compare.retention_days`; a
feature no plan declares any more keeps them for the default. `expired_before` is the moment
before which a feature's evidence may be deleted: `proxy.evidence_store` deletes both tables'
rows older than it once a minute, and the control plane may call it for its own clean-ups.
Evidence older than the retention no longer counts towards a gate, so a phase that lasts
longer than it is judged on its last `retention_days`. Pure: the standard library only.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Final

from domain.plan_model import CompareSettings

DEFAULT_RETENTION_DAYS: Final = CompareSettings().retention_days


def retention_days_of(feature: str, retention_days: Mapping[str, float]) -> float:
    """The feature's plan's retention, or the default for a feature no plan declares."""
    return retention_days.get(feature, DEFAULT_RETENTION_DAYS)


def expired_before(now: datetime, feature: str, retention_days: Mapping[str, float]) -> datetime:
    """Evidence of `feature` recorded before this moment may be deleted."""
    return now - timedelta(days=retention_days_of(feature, retention_days))


def undeclared_expired_before(now: datetime) -> datetime:
    """The same moment for every feature no plan declares any more."""
    return now - timedelta(days=DEFAULT_RETENTION_DAYS)
