"""A service's Prometheus metrics: requests and latency by URL route, outbox backlog, audit writes.

Requests are counted by the middleware (`MetricsMiddleware`, first in MIDDLEWARE) by Django's
resolved *route* (`/api/appointments/<int:appointment_id>`, never the path, which holds record
ids), method (an unknown one as `OTHER`, as the proxy counts it) and status class; latency
goes into a histogram whose bounds are the proxy's and the gates' (`domain.latency.BOUNDS_MS`).
Audit rows written are counted where they are written (`extracted.core.access_audit`). The
outbox backlog is read from each service's database when scraped: rows not yet carried to
legacy by reverse sync, and the age of the oldest.

Served at `/__ficus/metrics` to operations only: a peer on loopback (or in `FICUS_METRICS_ALLOW`,
comma-separated networks) that came directly, not through the proxy (no X-Forwarded-For); anyone
else gets a 403. Under gunicorn the workers' counts are summed from prometheus_client's files
(`extracted.core.metrics_files`); without `PROMETHEUS_MULTIPROC_DIR` (one process, tests) they
are this process's.
"""

from __future__ import annotations

import ipaddress
import os
import time
from collections.abc import Callable, Iterator
from typing import Final

from django.apps import apps
from django.db import DatabaseError, router
from django.db.models import Min
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils import timezone
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from domain.latency import BOUNDS_MS
from extracted.core.metrics_files import DIR_ENV, LockedCollector
from extracted.core.outbox import OutboxEntry

UNMATCHED: Final = "<unmatched>"
ALLOW_ENV: Final = "FICUS_METRICS_ALLOW"
_LOOPBACK: Final = ("127.0.0.0/8", "::1/128")
_CLASSES: Final = ("none", "1xx", "2xx", "3xx", "4xx", "5xx")

# In-process registry (one process); under gunicorn the values go to the files instead.
REGISTRY: Final = CollectorRegistry()
_METHODS: Final = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
REQUESTS: Final = Counter(
    "ficus_service_requests",
    "Requests a service answered, by URL route (never the path), method and status class",
    ["service", "route", "method", "status_class"],
    registry=REGISTRY,
)
LATENCY: Final = Histogram(
    "ficus_service_request_duration_seconds",
    "Time a service took to answer, by URL route (the gates' buckets)",
    ["service", "route", "method"],
    buckets=[bound / 1000 for bound in BOUNDS_MS],
    registry=REGISTRY,
)
AUDIT_WRITES: Final = Counter(
    "ficus_service_audit_writes",
    "Access-audit rows written, by action",
    ["service", "action"],
    registry=REGISTRY,
)


def service_name() -> str:
    return os.environ.get("FICUS_SERVICE") or "all"


def count_audit_writes(action: str, rows: int) -> None:
    if rows:
        AUDIT_WRITES.labels(service_name(), action).inc(rows)


class MetricsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response
        self.service = service_name()

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        started = time.perf_counter()
        response = self.get_response(request)
        elapsed = time.perf_counter() - started
        match = request.resolver_match
        route = f"/{match.route}" if match is not None else UNMATCHED
        # A client chooses the method: an unknown one is `OTHER`, so labels stay bounded.
        method = request.method if request.method in _METHODS else "OTHER"
        status = response.status_code
        status_class = _CLASSES[status // 100] if 100 <= status < 600 else _CLASSES[0]
        REQUESTS.labels(self.service, route, method, status_class).inc()
        LATENCY.labels(self.service, route, method).observe(elapsed)
        return response


class OutboxCollector(Collector):
    """Reverse sync's backlog in each served service's outbox, read at scrape time."""

    def collect(self) -> Iterator[Metric]:
        backlog = GaugeMetricFamily(
            "ficus_service_outbox_backlog",
            "Outbox rows reverse sync has not carried to legacy yet",
            labels=["service"],
        )
        age = GaugeMetricFamily(
            "ficus_service_outbox_oldest_age_seconds",
            "Age of the oldest outbox row not yet carried to legacy (0 when none)",
            labels=["service"],
        )
        now = timezone.now()
        for model in apps.get_models():
            if not issubclass(model, OutboxEntry):
                continue
            pending = model._default_manager.using(router.db_for_read(model)).filter(
                processed_at__isnull=True
            )
            try:
                count = pending.count()
                oldest = pending.aggregate(oldest=Min("created_at"))["oldest"]
            except DatabaseError:
                continue  # an unreachable database is a missing series, not a failed scrape
            service = model._meta.app_label
            backlog.add_metric([service], count)
            age.add_metric([service], (now - oldest).total_seconds() if oldest else 0.0)
        yield backlog
        yield age


def _allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    extra = [n.strip() for n in os.environ.get(ALLOW_ENV, "").split(",") if n.strip()]
    return [ipaddress.ip_network(n, strict=False) for n in (*_LOOPBACK, *extra)]


def is_operations_peer(request: HttpRequest) -> bool:
    """A direct peer on loopback or an allowed network; a relayed request is an outsider's."""
    if "HTTP_X_FORWARDED_FOR" in request.META or "HTTP_FORWARDED" in request.META:
        return False
    try:
        peer = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(peer in network for network in _allowed_networks())


def metrics_view(request: HttpRequest) -> HttpResponse:
    if not is_operations_peer(request):
        return HttpResponse("Forbidden: metrics are for operations\n", status=403)
    registry = CollectorRegistry()
    directory = os.environ.get(DIR_ENV)
    if directory and os.path.isdir(directory):
        registry.register(LockedCollector(directory))
    else:
        registry.register(_Registered())
    registry.register(OutboxCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)


class _Registered(Collector):
    """This process's own counts (no multiprocess directory)."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()
