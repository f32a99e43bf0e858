"""Reads of the shadow evidence the proxy writes: comparison tallies and de-identified samples.

The proxy's workers each insert one `RouteTally` (`domain.noise`) per route and 10 s window
(`ficus_evidence_tally`); here they are summed over workers and windows since the route's phase
began and assessed with the plan's thresholds and accepted differences (`domain.noise.assess`,
Diffy's rule), so the gates, `manage.py plan evidence` and the API read one number the same
way. No tally means no evidence: the diff rate is then unavailable, and a gate on it fails.

The gates read each moving route's *shadow interval* (`shadow_interval`): while the route is in
shadow, since it entered shadow; once it is past shadow (canary flows are not compared), the
last interval it spent in shadow, from the transition history. So raising a canary weight or
entering migrated is judged on the shadow evidence the canary began with, and each route is
judged on its own (`domain.noise.GateEvidence`): a route never compared fails the gate.
Samples (`ficus_evidence_sample`) were de-identified by the proxy before they were stored.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from domain.noise import Assessment, GateEvidence, RouteTally, assess, gate_evidence
from domain.phases import Phase
from domain.plans import Plan
from migration_plans.models import EvidenceSample, EvidenceTally, RouteState, Transition

log = logging.getLogger(__name__)
WINDOW_SECONDS = 10
NO_COMPARISONS = "no shadow exchanges compared"


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
    until: datetime | None = None  # the end of the shadow interval read, None while in shadow

    @property
    def excused_rate(self) -> float | None:
        """Differing exchanges whose every difference was noise or accepted."""
        a = self.assessment
        return (a.differing - a.real) / a.compared if a.compared else None


@dataclass(frozen=True, slots=True)
class Interval:
    """When a route was in shadow: [start, end), end None while it still is."""

    start: datetime
    end: datetime | None = None


def tally_since(
    feature: str, routes: Iterable[tuple[str, str, datetime | None]], until: datetime | None = None
) -> RouteTally:
    """The routes' tallies ((method, template, since) each) summed over workers and windows,
    those starting before `until` only when it is given (the index on (feature, method,
    template, window_start) answers each route's range)."""
    total = RouteTally()
    for method, template, since in routes:
        rows = EvidenceTally.objects.filter(feature=feature, method=method, template=template)
        if since is not None:
            rows = rows.filter(window_start__gte=floor_window(since))
        if until is not None:
            rows = rows.filter(window_start__lt=until)
        for text in rows.values_list("tally", flat=True).iterator():
            try:
                total.merge(RouteTally.from_dict(json.loads(text)))
            except ValueError as e:  # a row no proxy of this version wrote: not evidence
                log.warning("shadow tally row skipped: %s", e)
    return total


def shadow_interval(feature: str, method: str, template: str, since: datetime) -> Interval | None:
    """The route's current shadow interval (in shadow: since `since`), or its last one when
    it is past shadow; None when it is in legacy or was never in shadow."""
    state = RouteState.objects.filter(feature=feature, method=method, template=template).first()
    if state is None or state.phase == Phase.SHADOW:
        return Interval(since)
    if state.phase == Phase.LEGACY:
        return None
    history = Transition.objects.filter(feature=feature, method=method, template=template)
    entered = (
        history.filter(to_phase=Phase.SHADOW).exclude(from_phase=Phase.SHADOW).order_by("-id")
    ).first()
    if entered is None:
        return None
    left = history.filter(id__gt=entered.id).order_by("id").first()
    return Interval(entered.at, left.at if left is not None else None)


def assessed(tally: RouteTally, plan: Plan | None, method: str, template: str) -> Assessment:
    """The tally judged with the plan's thresholds and the route's accepted differences."""
    if plan is None:
        return assess(tally)
    rules = plan.compare_rules(f"{method} {template}")
    return assess(tally, plan.shadow.compare.noise.thresholds(), rules.accepted)


def gate_values(
    feature: str, routes: Sequence[tuple[str, str, datetime]], plan: Plan | None
) -> GateEvidence:
    """Each moving route's ((method, template, since) each) comparisons over its shadow
    interval, judged by its own rules; a route without one has nothing compared."""
    judged: list[tuple[str, Assessment]] = []
    for method, template, since in routes:
        interval = shadow_interval(feature, method, template, since)
        tally = (
            RouteTally()
            if interval is None
            else tally_since(feature, [(method, template, interval.start)], interval.end)
        )
        judged.append((f"{method} {template}", assessed(tally, plan, method, template)))
    return gate_evidence(judged)


def route_evidence(
    feature: str,
    method: str,
    template: str,
    since: datetime | None,
    plan: Plan | None,
    *,
    samples_per_field: int = 3,
) -> RouteEvidence:
    until = None
    interval = None if since is None else shadow_interval(feature, method, template, since)
    if interval is not None:  # what the gates read: the current shadow interval, or the last
        since, until = interval.start, interval.end
    # Else (not registered, in legacy, never shadowed) whatever was written since the phase began.
    tally = tally_since(feature, [(method, template, since)], until)
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
    return RouteEvidence(method, template, since, assessment, samples, until)


def floor_window(at: datetime) -> datetime:
    """The start of the 10 s window `at` falls in (the proxy floors its windows the same way)."""
    return at - timedelta(seconds=at.second % WINDOW_SECONDS, microseconds=at.microsecond)
