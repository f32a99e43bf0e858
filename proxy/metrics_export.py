"""Snapshots of proxy workers as Prometheus families: summed, encoded, folded when a worker dies.

`ProxyCollector` is a prometheus_client collector over a `source` that returns the snapshot of
retired workers (the last one each dead worker published, summed) and the live workers' latest
snapshots by worker index. Counters and histograms are the sum of all of them, so a worker that
dies takes nothing with it: its last published counts stay in the retired total, and its
replacement starts from zero on top of that, so a total never goes down. Gauges (breakers, route
table generation) are the live workers' only. `encode`/`decode` carry a snapshot over the
worker's pipe to the supervisor (`proxy.metrics_link`) as one JSON document.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from typing import Final

from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from domain.latency import BOUNDS_MS
from proxy.metrics import RequestKey, Series, Snapshot

REQUEST_LABELS: Final = (
    "feature",
    "template",
    "method",
    "upstream",
    "phase",
    "side",
    "status_class",
)
_LE: Final = (*(f"{bound / 1000:g}" for bound in BOUNDS_MS), "+Inf")

# (retired total, [(worker index, latest snapshot)]): a restarted worker's predecessor may still
# be listed for a moment, so an index can appear twice.
SnapshotSource = Callable[[], tuple[Snapshot, Sequence[tuple[str, Snapshot]]]]


def add_into(total: Snapshot, other: Snapshot) -> None:
    """Add other's counters into total (gauges are not summed)."""
    for key, series in other.requests.items():
        mine = total.requests.get(key)
        if mine is None:
            total.requests[key] = series.copy()
        else:
            mine.add(series)
    for counts, more in ((total.fallbacks, other.fallbacks), (total.shadow, other.shadow)):
        for k, n in more.items():
            counts[k] = counts.get(k, 0) + n
    total.dropped += other.dropped


def encode(snapshot: Snapshot) -> bytes:
    document = {
        "r": [[*key, s.buckets, s.total_ms] for key, s in snapshot.requests.items()],
        "f": [[*key, n] for key, n in snapshot.fallbacks.items()],
        "s": [[*key, n] for key, n in snapshot.shadow.items()],
        "d": snapshot.dropped,
        "b": sorted(snapshot.breakers.items()),
        "g": snapshot.generation,
    }
    return json.dumps(document, separators=(",", ":")).encode()


def decode(data: bytes) -> Snapshot:
    """A snapshot from `encode`'s bytes; ValueError (or KeyError, TypeError) if malformed."""
    d = json.loads(data)
    requests: dict[RequestKey, Series] = {}
    for *key, buckets, total_ms in d["r"]:
        requests[tuple(str(k) for k in key)] = Series([int(b) for b in buckets], float(total_ms))  # type: ignore[index]
    return Snapshot(
        requests=requests,
        fallbacks={(str(a), str(b), str(c)): int(n) for a, b, c, n in d["f"]},
        shadow={(str(a), str(b), str(c)): int(n) for a, b, c, n in d["s"]},
        dropped=int(d["d"]),
        breakers={str(url): str(state) for url, state in d["b"]},
        generation=None if d["g"] is None else int(d["g"]),
    )


class ProxyCollector(Collector):
    def __init__(self, source: SnapshotSource) -> None:
        self._source = source

    def collect(self) -> Iterator[Metric]:
        retired, live = self._source()
        total = Snapshot()
        add_into(total, retired)
        for _worker, snapshot in live:
            add_into(total, snapshot)
        yield from _counters(total)
        yield from _gauges(live)


def _counters(total: Snapshot) -> Iterator[Metric]:
    requests = CounterMetricFamily(
        "ficus_proxy_requests",
        "Requests answered (or abandoned), by route template, upstream, phase, side and status",
        labels=REQUEST_LABELS,
    )
    latency = HistogramMetricFamily(
        "ficus_proxy_request_duration_seconds",
        "From the request's first byte to its answer, by route template (the gates' buckets)",
        labels=REQUEST_LABELS,
    )
    for key, series in sorted(total.requests.items()):
        cumulative, running = [], 0
        for le, count in zip(_LE, series.buckets, strict=True):
            running += count
            cumulative.append((le, float(running)))
        requests.add_metric(key, float(running))
        latency.add_metric(key, cumulative, series.total_ms / 1000)
    yield requests
    yield latency
    yield _counter(
        "ficus_proxy_fallbacks",
        "Reads a service failed that the legacy app answered instead",
        ("feature", "template", "upstream"),
        total.fallbacks,
    )
    yield _counter(
        "ficus_shadow_comparisons",
        "Shadow answers compared with legacy's, by result (match, noise, difference, error)",
        ("feature", "template", "result"),
        total.shadow,
    )
    yield CounterMetricFamily(
        "ficus_proxy_metrics_dropped",
        "Observations dropped because a worker held the most series it may",
        value=float(total.dropped),
    )


def _counter(
    name: str, documentation: str, labels: tuple[str, ...], counts: dict[tuple[str, str, str], int]
) -> Metric:
    family = CounterMetricFamily(name, documentation, labels=labels)
    for key, n in sorted(counts.items()):
        family.add_metric(key, float(n))
    return family


def _gauges(live: Sequence[tuple[str, Snapshot]]) -> Iterator[Metric]:
    latest = dict(live)  # per worker index, the newest process's
    breakers = GaugeMetricFamily(
        "ficus_proxy_breakers",
        "Workers whose circuit breaker for an upstream instance is in this state",
        labels=("instance", "state"),
    )
    states: dict[tuple[str, str], int] = {}
    for snapshot in latest.values():
        for url, state in snapshot.breakers.items():
            states[url, state] = states.get((url, state), 0) + 1
    for (url, state), n in sorted(states.items()):
        breakers.add_metric((url, state), float(n))
    yield breakers
    generation = GaugeMetricFamily(
        "ficus_proxy_route_table_generation",
        "Control-plane generation of the route table each worker has in force",
        labels=("worker",),
    )
    for worker, snapshot in sorted(latest.items()):
        if snapshot.generation is not None:
            generation.add_metric((worker,), float(snapshot.generation))
    yield generation
