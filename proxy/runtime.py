"""What Ficus's addons share: one `Runtime`, built once and handed to each of them.

The configuration addon (`proxy.configuration`) fills it in from the options; the others only
read it, except the pins (router and response side), the route stats (counted per request,
flushed by the control plane's thread), the metrics (counted per request, read by their
exporter's thread) and the shadow evidence (queued per shadowed exchange, compared and flushed
by its own thread).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from proxy.access_log import AccessLog
from proxy.evidence_recorder import EvidenceRecorder
from proxy.live_plans import LivePlans
from proxy.metrics import ProxyMetrics
from proxy.pins import ReadPins
from proxy.route_stats import RouteStats, StatsFlusher
from proxy.session_identity import SessionIdentities


class Runtime:
    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        metrics: ProxyMetrics | None = None,
    ) -> None:
        self.plans = LivePlans()
        # Read-your-writes pins by session digest; the clock is injectable for tests.
        self.pins = ReadPins(clock=clock)
        self.identities = SessionIdentities(clock=clock)
        self.stats = RouteStats()
        # Route stats are counted only while a control plane takes them.
        self.flusher: StatsFlusher | None = None
        # Shadow exchanges are compared only while a control plane takes the evidence.
        self.evidence: EvidenceRecorder | None = None
        self.access_log: AccessLog | None = None
        # Prometheus counts (proxy.metrics), only while they are exported (--metrics-port).
        self.metrics = metrics

    @property
    def counting(self) -> bool:
        return self.flusher is not None
