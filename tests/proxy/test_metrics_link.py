"""Worker to supervisor over a real pipe: the latest snapshot is live, a closed pipe retires it."""

from __future__ import annotations

import os
import time

from proxy.metrics import ProxyMetrics
from proxy.metrics_link import MetricsHub, Publisher


def eventually(condition, within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "the condition never held"
        time.sleep(0.02)


def requests(hub: MetricsHub) -> tuple[int, int]:
    """(retired, live) request counts."""
    retired, live = hub.source()
    count = lambda s: sum(sum(series.buckets) for series in s.requests.values())  # noqa: E731
    return count(retired), sum(count(snapshot) for _, snapshot in live)


def serve_one(metrics: ProxyMetrics) -> None:
    metrics.observe("legacy", "/{path}", "GET", "legacy", "legacy", "legacy", 200, 1.0)


def test_a_workers_snapshots_reach_the_hub_and_its_end_retires_them():
    hub = MetricsHub()
    metrics = ProxyMetrics()
    publisher = Publisher(metrics, hub.pipe_for(1), interval=0.05)
    publisher.start()
    for _ in range(3):
        serve_one(metrics)
    eventually(lambda: requests(hub) == (0, 3))

    publisher.stop()  # one last snapshot, then the pipe closes as if the worker died
    eventually(lambda: requests(hub) == (3, 0))

    # Its replacement counts from zero on top of the retired total.
    again = ProxyMetrics()
    replacement = Publisher(again, hub.pipe_for(1), interval=0.05)
    replacement.start()
    serve_one(again)
    eventually(lambda: requests(hub) == (3, 1))
    replacement.stop()


def test_a_killed_worker_keeps_what_it_last_published():
    hub = MetricsHub()
    fd = hub.pipe_for(2)
    metrics = ProxyMetrics()
    serve_one(metrics)
    publisher = Publisher(metrics, fd, interval=60)
    publisher.publish()
    eventually(lambda: requests(hub) == (0, 1))
    serve_one(metrics)  # counted after the last publication: lost with the worker
    os.close(fd)  # SIGKILL: no last snapshot
    eventually(lambda: requests(hub) == (1, 0))
