"""A proxy worker's Prometheus counts: plain dicts added to on the event loop, read as snapshots.

Per request the access logger calls `observe` once: one dict lookup by (feature, route
template, method, upstream, phase, side, status class), one histogram bucket and a sum. Never a
raw path: the key holds the route *template* (unmatched requests count under the legacy default
route's template), and an unknown method counts as `OTHER`, so the key space is bounded by the
route table; `MAX_SERIES` bounds it anyway, and what falls beyond is counted in `dropped`.

The counts are cumulative for the life of the worker and never reset: `snapshot()` copies them
(from any thread; copying a dict is one step under the GIL) into a `Snapshot`, which
`proxy.metrics_export` turns into Prometheus families and sums across workers. Gauges are read
at snapshot time: each upstream instance's breaker state and the control-plane generation of the
route table in force. The bucket bounds are the gates' (`domain.latency.BOUNDS_MS`), so a
dashboard's p99 and a gate's p99 are read from the same buckets.

`shadow_compared(feature, template, result)` is the entry point of the shadow comparison
pipeline: one call per compared pair, `result` one of `SHADOW_RESULTS`.
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Final

from domain.latency import BOUNDS_MS, BUCKET_COUNT
from proxy.methods import METHODS

MAX_SERIES: Final = 20_000
SHADOW_RESULTS: Final = ("match", "noise", "difference", "error")
# The label values of a request refused before routing: no route, upstream or phase.
UNROUTED: Final = "-"
# status // 100 -> class; 0 is a request that got no answer (the client left, or a failure).
_CLASSES: Final = ("none", "1xx", "2xx", "3xx", "4xx", "5xx")
_METHODS: Final = frozenset(m.decode("ascii") for m in METHODS)

# (feature, template, method, upstream, phase, side, status class)
RequestKey = tuple[str, str, str, str, str, str, str]


@dataclass(slots=True)
class Series:
    """One request series: latency bucket counts (the gates' bounds) and the sum in ms."""

    buckets: list[int] = field(default_factory=lambda: [0] * BUCKET_COUNT)
    total_ms: float = 0.0

    def copy(self) -> Series:
        return Series(list(self.buckets), self.total_ms)

    def add(self, other: Series) -> None:
        for i, count in enumerate(other.buckets):
            self.buckets[i] += count
        self.total_ms += other.total_ms


@dataclass(slots=True)
class Snapshot:
    """What one worker (or the sum of many) has counted; gauges are per worker."""

    requests: dict[RequestKey, Series] = field(default_factory=dict)
    # (feature, template, failed upstream) -> reads legacy answered instead
    fallbacks: dict[tuple[str, str, str], int] = field(default_factory=dict)
    # (feature, template, result) -> comparisons
    shadow: dict[tuple[str, str, str], int] = field(default_factory=dict)
    dropped: int = 0
    # instance URL -> breaker state (closed, open, half_open)
    breakers: dict[str, str] = field(default_factory=dict)
    # The control-plane generation of the route table in force; None: plan-file phases only.
    generation: int | None = None


def status_class(status: int | None) -> str:
    if status is None or not 100 <= status < 600:
        return _CLASSES[0]
    return _CLASSES[status // 100]


class ProxyMetrics:
    def __init__(
        self,
        *,
        breakers: Callable[[], Iterable[tuple[str, str]]] = lambda: (),
        generation: Callable[[], int | None] = lambda: None,
        max_series: int = MAX_SERIES,
    ) -> None:
        self._requests: dict[RequestKey, Series] = {}
        self._fallbacks: dict[tuple[str, str, str], int] = {}
        self._shadow: dict[tuple[str, str, str], int] = {}
        self._breakers = breakers
        # Settable: the control-plane poller is opened after the metrics (proxy.configuration).
        self.generation_source = generation
        self._max = max_series
        self.dropped = 0  # the event loop's drops
        # Comparisons are counted in the evidence recorder's thread: their own drop count and a
        # lock against the event loop's snapshot, so no count is lost between the two.
        self._shadow_lock = threading.Lock()
        self._shadow_dropped = 0

    def observe(
        self,
        feature: str,
        template: str,
        method: str,
        upstream: str,
        phase: str,
        side: str,
        status: int | None,
        elapsed_ms: float,
    ) -> None:
        """One answered (or abandoned) request; the event loop's only metrics work."""
        key = (
            feature,
            template,
            method if method in _METHODS else "OTHER",
            upstream,
            phase,
            side,
            status_class(status),
        )
        series = self._requests.get(key)
        if series is None:
            if len(self._requests) >= self._max:
                self.dropped += 1
                return
            series = self._requests[key] = Series()
        series.buckets[bisect_left(BOUNDS_MS, elapsed_ms)] += 1
        series.total_ms += elapsed_ms if elapsed_ms > 0 else 0.0

    def fell_back(self, feature: str, template: str, failed_upstream: str) -> None:
        self._bump(self._fallbacks, (feature, template, failed_upstream))

    def shadow_compared(self, feature: str, template: str, result: str) -> None:
        """One shadow comparison of the route `template` of `feature`: `result` is `match`,
        `noise` (every difference explained by this exchange: legacy's second answer differed
        there too, never for a whole body or a body not compared, or the plan accepts it),
        `difference` or `error` (the copy failed, legacy failed, or an answer was missing).
        ValueError on another result."""
        if result not in SHADOW_RESULTS:
            raise ValueError(f"shadow result must be one of {', '.join(SHADOW_RESULTS)}")
        key = (feature, template, result)
        with self._shadow_lock:
            if key not in self._shadow and len(self._shadow) >= self._max:
                self._shadow_dropped += 1
            else:
                self._shadow[key] = self._shadow.get(key, 0) + 1

    def _bump(self, counts: dict[tuple[str, str, str], int], key: tuple[str, str, str]) -> None:
        if key not in counts and len(counts) >= self._max:
            self.dropped += 1
            return
        counts[key] = counts.get(key, 0) + 1

    def snapshot(self) -> Snapshot:
        """A copy of everything counted so far, and the gauges as they are now."""
        requests = self._requests.copy()
        with self._shadow_lock:
            shadow, shadow_dropped = self._shadow.copy(), self._shadow_dropped
        return Snapshot(
            requests={key: series.copy() for key, series in requests.items()},
            fallbacks=self._fallbacks.copy(),
            shadow=shadow,
            dropped=self.dropped + shadow_dropped,
            breakers=dict(self._breakers()),
            generation=self.generation_source(),
        )
