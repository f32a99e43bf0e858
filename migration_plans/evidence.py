"""Reads of the shadow evidence the proxy writes: comparison tallies and de-identified samples.

The proxy's workers each insert one `RouteTally` (`domain.noise`) per route and 10 s window
(`ficus_evidence_tally`); here they are summed over workers and windows since the route's phase
began and assessed with the plan's thresholds and accepted differences (`domain.noise.assess`,
Diffy's rule), so the gates, `manage.py plan evidence` and the API read one number the same
way. No tally means no evidence: the diff rate is then unavailable, and a gate on it fails.
Samples (`ficus_evidence_sample`) were de-identified by the proxy before they were stored.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from domain.noise import Assessment, RouteTally, assess, gate_evidence
from domain.plans import Plan
from migration_plans.models import EvidenceSample, EvidenceTally

log = logging.getLogger(__name__)
WINDOW_SECONDS = 10
NO_COMPARISONS = "no shadow exchanges compared since the phase began"


@dataclass(frozen=True, slots=True)
class SampleRow:
    kind: str  # real (legacy vs service) or noise (legacy vs legacy)
    legacy: str  # JSON text, de-identified
    other: str
    at: datetime


@dataclass(frozen=True, slots=True)
class RouteEvidence:
    method: str
    template: str
    since: datetime | None  # None: every window kept
    assessment: Assessment
    samples: dict[str, list[SampleRow]]  # field -> a few samples, newest first

    @property
    def excused_rate(self) -> float | None:
        """Differing exchanges whose every difference was noise or accepted."""
        a = self.assessment
        return (a.differing - a.real) / a.compared if a.compared else None


def tally_since(feature: str, routes: Iterable[tuple[str, str, datetime | None]]) -> RouteTally:
    """The routes' tallies ((method, template, since) each) summed over workers and windows."""
    total = RouteTally()
    for method, template, since in routes:
        rows = EvidenceTally.objects.filter(feature=feature, method=method, template=template)
        if since is not None:
            rows = rows.filter(window_start__gte=floor_window(since))
        for text in rows.values_list("tally", flat=True).iterator():
            try:
                total.merge(RouteTally.from_dict(json.loads(text)))
            except ValueError as e:  # a row no proxy of this version wrote: not evidence
                log.warning("shadow tally row skipped: %s", e)
    return total


def assessed(tally: RouteTally, plan: Plan | None, method: str, template: str) -> Assessment:
    """The tally judged with the plan's thresholds and the route's accepted differences."""
    if plan is None:
        return assess(tally)
    rules = plan.compare_rules(f"{method} {template}")
    return assess(tally, plan.shadow.compare.noise.thresholds(), rules.accepted)


def gate_values(
    feature: str, routes: Sequence[tuple[str, str, datetime]], plan: Plan | None
) -> tuple[int, float | None]:
    """(exchanges compared, real diff rate or None without any) over the routes being moved,
    each route judged by its own rules (`domain.noise.gate_evidence` sums them)."""
    values = gate_evidence(
        assessed(tally_since(feature, [(method, template, since)]), plan, method, template)
        for method, template, since in routes
    )
    compared, rate = values["compared"], values["diff_rate"]
    return int(compared or 0), None if rate is None else float(rate)


def route_evidence(
    feature: str,
    method: str,
    template: str,
    since: datetime | None,
    plan: Plan | None,
    *,
    samples_per_field: int = 3,
) -> RouteEvidence:
    tally = tally_since(feature, [(method, template, since)])
    assessment = assessed(tally, plan, method, template)
    wanted = {f.field for f in assessment.fields}
    samples: dict[str, list[SampleRow]] = {}
    rows = EvidenceSample.objects.filter(
        feature=feature, method=method, template=template, field__in=wanted
    ).order_by("-id")
    for row in rows.iterator():
        kept = samples.setdefault(row.field, [])
        if len(kept) < samples_per_field:
            kept.append(SampleRow(row.kind, row.legacy_value, row.other_value, row.recorded_at))
    return RouteEvidence(method, template, since, assessment, samples)


def floor_window(at: datetime) -> datetime:
    """The start of the 10 s window `at` falls in (the proxy floors its windows the same way)."""
    return at - timedelta(seconds=at.second % WINDOW_SECONDS, microseconds=at.microsecond)
