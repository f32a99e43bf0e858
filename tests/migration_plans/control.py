"""Plans and proxy stats for control-plane tests (the stats rows are what proxy workers write)."""

from __future__ import annotations

import json
from datetime import timedelta
from types import MappingProxyType

from django.utils import timezone

from domain import latency
from domain.noise import RouteTally
from domain.phases import Phase
from domain.plans import Gate, Plan, PlanRoute, Upstream
from migration_plans.models import EvidenceTally, RouteState, RouteStats

ONE = "/api/appointments/{id:int}"
ROUTES = (("GET", ONE, "legacy"), ("PUT", ONE, "legacy"))


def make_plan(
    *, feature="appointments", routes=ROUTES, gates=None, canary_writes=False, file=None
) -> Plan:
    return Plan(
        file or f"plans/{feature}.yaml",
        feature,
        "Scheduling IT",
        "",
        Upstream(feature, ("http://127.0.0.1:8101",)),
        (feature.upper(),),
        tuple(PlanRoute(m, p, Phase(ph), i + 1) for i, (m, p, ph) in enumerate(routes)),
        canary_writes=canary_writes,
        gates=MappingProxyType({Phase(k): v for k, v in (gates or {}).items()}),
    )


CANARY_GATE = {"canary": Gate(min_samples=100, max_error_rate=0.01, max_p99_ratio=2.0)}


def record_stats(
    *,
    feature="appointments",
    method="GET",
    template=ONE,
    side="shadow",
    requests=100,
    errors=0,
    latency_ms=10.0,
    worker="w1",
    ago=0,
):
    """One window of a proxy worker's counts, all answers at latency_ms, `ago` seconds back."""
    counts = latency.empty_buckets()
    counts[latency.bucket_index(latency_ms)] = requests
    RouteStats.objects.create(
        worker=worker,
        feature=feature,
        method=method,
        template=template,
        side=side,
        window_start=window_start(ago),
        requests=requests,
        errors=errors,
        latency_buckets=json.dumps(counts),
    )


def window_start(ago):
    """The start of the 10 s window of the moment `ago` seconds back, as the proxy floors it."""
    now = timezone.now() - timedelta(seconds=ago)
    return now - timedelta(seconds=now.second % 10, microseconds=now.microsecond)


def backdate(seconds):
    """Pretend the routes entered their phases `seconds` earlier (time passing, in a test)."""
    for state in RouteState.objects.all():
        state.since -= timedelta(seconds=seconds)
        state.save(update_fields=["since"])


def record_tally(tally, *, feature="appointments", method="GET", template=ONE, worker="w1", ago=0):
    """One window of a proxy worker's shadow comparisons (`domain.noise.RouteTally`)."""
    EvidenceTally.objects.create(
        worker=worker,
        feature=feature,
        method=method,
        template=template,
        window_start=window_start(ago),
        tally=json.dumps(tally.as_dict()),
    )


def tally_of(compared, differing=(), noise_compared=0, noisy=()):
    """A tally of `compared` exchanges: `differing` is [(fields, exchanges)] against the
    service, `noisy` [(fields, exchanges)] of legacy against itself."""
    tally = RouteTally()
    rows = [list(fields) for fields, n in differing for _ in range(n)]
    noise_rows = [list(fields) for fields, n in noisy for _ in range(n)]
    for i in range(compared):
        tally.add(
            rows[i] if i < len(rows) else [],
            (noise_rows[i] if i < len(noise_rows) else []) if i < noise_compared else None,
        )
    return tally
