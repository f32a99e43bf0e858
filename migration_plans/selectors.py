"""Reads of the control plane: status, history, evidence, the audit log. No writes here.

Evidence for a gate is what happened *since the route's phase began* (its `since`): the proxy's
per-window stats for the routes being moved, summed over workers and windows, plus the values of
the evidence providers (contract C3). The new service's side is `service` in canary and later
and `shadow` in shadow; both count as the candidate's samples, while `legacy` rows of the same
routes and period are the baseline of the p99 ratio. Windows are floored to 10 s, so a window
counts when its start is at or after the phase's start floored the same way.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.utils.module_loading import import_string

from domain import latency
from domain.plans import Plan
from migration_plans import audit_chain
from migration_plans.evidence import NO_COMPARISONS, floor_window, gate_values
from migration_plans.gates import PROVIDED_KEYS, Evidence, p99_of
from migration_plans.models import AuditDigest, AuditRecord, RouteState, RouteStats, Transition

log = logging.getLogger(__name__)
CANDIDATE_SIDES = ("service", "shadow")
Provider = Callable[[str], Mapping[str, float | int | None]]


@dataclass(frozen=True, slots=True)
class StatusRow:
    feature: str
    method: str
    template: str
    phase: str
    weight: int
    since: datetime | None  # None: not registered yet, the plan file's phase applies
    actor: str


def states(feature: str | None = None) -> QuerySet[RouteState]:
    rows = RouteState.objects.all()
    return rows.filter(feature=feature) if feature else rows


def status(plans: Iterable[Plan], feature: str | None = None) -> list[StatusRow]:
    """Every plan route with its current state; a route without a row shows the plan's phase."""
    known = {(s.method, s.template): s for s in states(feature)}
    rows: list[StatusRow] = []
    for plan in plans:
        if feature and plan.feature != feature:
            continue
        for route in plan.routes:
            state = known.get((route.method, route.template))
            if state is None:
                rows.append(
                    StatusRow(plan.feature, route.method, route.template, route.phase, 0, None, "")
                )
            else:
                rows.append(
                    StatusRow(
                        state.feature,
                        state.method,
                        state.template,
                        state.phase,
                        state.weight,
                        state.since,
                        state.actor,
                    )
                )
    return rows


def history(feature: str) -> QuerySet[Transition]:
    return Transition.objects.filter(feature=feature).order_by("id")


def evidence(
    feature: str,
    routes: Sequence[tuple[str, str, datetime]],
    *,
    providers: Sequence[str] | None = None,
    plan: Plan | None = None,
) -> Evidence:
    """Evidence for moving routes ((method, template, since) each) of feature.

    `compared` and `diff_rate` come from the shadow comparisons only (`migration_plans.evidence`:
    each route over its shadow interval, judged with the `plan`'s compare settings), never from
    a provider; a route with nothing compared makes `diff_rate` unavailable, naming the route."""
    samples = errors = legacy_samples = 0
    service_buckets = latency.empty_buckets()
    legacy_buckets = latency.empty_buckets()
    for method, template, since in routes:
        rows = RouteStats.objects.filter(
            feature=feature,
            method=method,
            template=template,
            window_start__gte=floor_window(since),
        ).values_list("side", "requests", "errors", "latency_buckets")
        for side, requests, errs, buckets in rows:
            counts = _counts(buckets)
            if side in CANDIDATE_SIDES:
                samples += requests
                errors += errs
                _add(service_buckets, counts)
            elif side == "legacy":
                legacy_samples += requests
                _add(legacy_buckets, counts)
    provided, unavailable = provided_evidence(feature, providers)
    comparisons = gate_values(feature, routes, plan)
    provided["compared"] = comparisons.compared
    unavailable.pop("compared", None)
    provided["diff_rate"] = comparisons.diff_rate
    unavailable.pop("diff_rate", None)
    if comparisons.diff_rate is None:
        routes_named = ", ".join(comparisons.uncompared) or "any route"
        unavailable["diff_rate"] = f"{NO_COMPARISONS} for {routes_named} in its shadow interval"
    return Evidence(
        samples=samples,
        errors=errors,
        service_p99_ms=p99_of(service_buckets),
        legacy_samples=legacy_samples,
        legacy_p99_ms=p99_of(legacy_buckets),
        provided=provided,
        unavailable=unavailable,
        comparisons=comparisons.as_dict(),
    )


def provided_evidence(
    feature: str, providers: Sequence[str] | None = None
) -> tuple[dict[str, float | int | None], dict[str, str]]:
    """Values from the C3 providers; a provider that fails makes its keys unavailable."""
    paths = list(
        providers if providers is not None else getattr(settings, "FICUS_EVIDENCE_PROVIDERS", ())
    )
    values: dict[str, float | int | None] = {}
    failures: list[str] = []
    for path in paths:
        try:
            provider: Provider = import_string(path)
            answer = dict(provider(feature))
        except Exception as e:  # any provider failure makes its keys unavailable
            log.warning("evidence provider %s failed: %s", path, type(e).__name__)
            failures.append(f"provider {path} failed ({type(e).__name__}: {e})")
            continue
        for key, value in answer.items():
            if key in PROVIDED_KEYS:
                values[key] = value
    unavailable: dict[str, str] = {}
    for key in PROVIDED_KEYS:
        if values.get(key) is not None:
            continue
        if failures:
            unavailable[key] = "; ".join(failures)
        elif key in values:
            unavailable[key] = f"the provider reported no value for {key}"
    return values, unavailable


def audit_records() -> QuerySet[AuditRecord]:
    return AuditRecord.objects.order_by("seq")


def chain_records() -> list[audit_chain.Record]:
    return [to_chain_record(r) for r in audit_records()]


def to_chain_record(row: AuditRecord) -> audit_chain.Record:
    return audit_chain.Record(
        seq=row.seq,
        at=row.at,
        actor=row.actor,
        action=row.action,
        subject=row.subject,
        details=json.loads(row.details),
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


def chain_digests() -> list[audit_chain.Digest]:
    return [
        audit_chain.Digest(d.id, d.seq, d.head_hash, d.at, d.signature)
        for d in AuditDigest.objects.order_by("id")
    ]


def verify_audit(key: bytes | None) -> tuple[int, audit_chain.Break | None]:
    """(records checked, first broken link or None); digests' signatures checked with key."""
    records = chain_records()
    return len(records), audit_chain.verify(records, chain_digests(), key=key)


def record_as_dict(row: AuditRecord) -> dict[str, Any]:
    return {
        "seq": row.seq,
        "at": audit_chain.format_time(row.at),
        "actor": row.actor,
        "action": row.action,
        "subject": row.subject,
        "details": json.loads(row.details),
        "prev_hash": row.prev_hash,
        "hash": row.hash,
    }


def _counts(text: str) -> list[int]:
    try:
        counts = json.loads(text)
    except ValueError:
        return []
    if not isinstance(counts, list) or len(counts) != latency.BUCKET_COUNT:
        return []  # a row from a proxy with other bounds: counted, but not for latency
    return [int(c) for c in counts]


def _add(total: list[int], counts: list[int]) -> None:
    if counts:
        latency.add_buckets(total, counts)
