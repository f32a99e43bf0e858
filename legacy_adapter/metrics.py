"""Prometheus metrics of a sync worker (G7): lag, backlog, dead letters, drift.

A registry per worker (dependency injection, no global default registry), refreshed from
`status.feature_status` — the same numbers `sync status` prints and the gates read — and
served on `--metrics-port` by prometheus_client's own HTTP server.
"""

from __future__ import annotations

from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from legacy_adapter.status import FeatureStatus

LAG_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0)


class SyncMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.lag = Gauge(
            "ficus_sync_lag_seconds", "Age of the oldest pending change", ["feature", "direction"],
            registry=r,
        )  # fmt: skip
        self.backlog = Gauge(
            "ficus_sync_backlog", "Pending changes", ["feature", "direction"], registry=r
        )
        self.dead_letters = Gauge(
            "ficus_sync_dead_letters", "Open dead letters", ["feature"], registry=r
        )
        self.drift = Gauge(
            "ficus_sync_drift_rows", "Drift found by the last reconcile", ["feature"], registry=r
        )
        self.applied = Counter(
            "ficus_sync_applied_changes", "Changes applied", ["feature", "direction"], registry=r
        )
        self.conflicts = Counter(
            "ficus_sync_conflicts",
            "Writes that lost to a newer write (concurrent) or were refused (owner_wins)",
            ["feature", "kind"],
            registry=r,
        )
        self.apply_lag = Histogram(
            "ficus_sync_apply_lag_seconds",
            "From the legacy commit's trigger to the service commit",
            ["feature"],
            buckets=LAG_BUCKETS,
            registry=r,
        )

    def count_conflicts(self, feature: str, concurrent: int, refused: int) -> None:
        if concurrent:
            self.conflicts.labels(feature, "concurrent").inc(concurrent)
        if refused:
            self.conflicts.labels(feature, "refused").inc(refused)

    def observe_status(self, status: FeatureStatus) -> None:
        f = status.feature
        self.lag.labels(f, "forward").set(status.forward_lag_seconds)
        self.backlog.labels(f, "forward").set(status.forward_backlog)
        if status.reverse_backlog is not None:
            self.backlog.labels(f, "reverse").set(status.reverse_backlog)
            self.lag.labels(f, "reverse").set(status.reverse_lag_seconds or 0.0)
        self.dead_letters.labels(f).set(status.dead_letters)
        if status.last_reconcile is not None:
            self.drift.labels(f).set(status.last_reconcile.drift_rows)

    def serve(self, port: int, host: str = "127.0.0.1") -> WSGIServer:
        """Serve /metrics from a daemon thread; returns the server (`.shutdown()` stops it)."""
        server, _thread = start_http_server(port, addr=host, registry=self.registry)
        return server
