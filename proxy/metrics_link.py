"""How a proxy's metrics reach `/metrics`: served by the worker itself, or by the supervisor.

With one process (`--workers 1`), the worker serves its own `/metrics` from a thread. With a
supervisor (`--workers N`), no worker binds the metrics port: each gets the write end of its own
pipe (`FICUS_METRICS_FD`), and a `Publisher` thread writes its cumulative snapshot there about
once a second (a 4-byte length, then `proxy.metrics_export.encode`'s JSON). The supervisor's
`MetricsHub` reads each pipe from a thread and keeps the latest snapshot per worker process; when
the pipe ends (the worker exited or was killed) the last snapshot is folded into the retired
total, so a counter never goes down and nothing is left behind: no files per process id, unlike
prometheus_client's multiprocess mode, whose files pile up from dead workers. The cost is at
most one second of a killed worker's last counts.
"""

from __future__ import annotations

import logging
import os
import struct
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Final

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from proxy.metrics import ProxyMetrics, Snapshot
from proxy.metrics_export import ProxyCollector, SnapshotSource, add_into, decode, encode

logger = logging.getLogger(__name__)

METRICS_FD_ENV: Final = "FICUS_METRICS_FD"
PUBLISH_SECONDS: Final = 1.0
_LENGTH: Final = struct.Struct(">I")


class MetricsPortError(Exception):
    """The metrics port could not be opened (in use, or a bad address)."""


def serve(source: SnapshotSource, host: str, port: int, *more: Collector) -> Callable[[], None]:
    """Serve `/metrics` (prometheus_client's server, a daemon thread); returns its stop.
    MetricsPortError if the port cannot be opened."""
    registry = CollectorRegistry()
    registry.register(ProxyCollector(source))
    for collector in more:
        registry.register(collector)
    try:
        server, _thread = start_http_server(port, addr=host, registry=registry)
    except OSError as e:
        raise MetricsPortError(f"--metrics-port {port} on {host}: {e.strerror or e}") from e

    def stop() -> None:
        server.shutdown()
        server.server_close()

    return stop


def export_worker(metrics: ProxyMetrics, host: str, port: int, worker: int) -> Callable[[], None]:
    """Start this worker's export: to its supervisor's pipe if it has one, else on host:port."""
    fd = os.environ.pop(METRICS_FD_ENV, None)
    if fd is not None:
        publisher = Publisher(metrics, int(fd))
        publisher.start()
        return publisher.stop
    return serve(
        lambda: (Snapshot(), [(str(worker), metrics.snapshot())]), host, port, _OneWorker()
    )


class Publisher:
    """Writes a worker's snapshot to its pipe every `interval`, and once more when stopped."""

    def __init__(self, metrics: ProxyMetrics, fd: int, *, interval: float = PUBLISH_SECONDS):
        self._metrics = metrics
        self._fd = fd
        self._interval = interval
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="ficus-metrics", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.publish()
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1

    def publish(self) -> None:
        data = encode(self._metrics.snapshot())
        frame = memoryview(_LENGTH.pack(len(data)) + data)
        with self._lock:
            try:
                while frame and self._fd >= 0:
                    frame = frame[os.write(self._fd, frame) :]
            except OSError:
                self._fd = -1  # the supervisor is gone; nobody to tell

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.publish()


class MetricsHub(Collector):
    """The supervisor's side: one reader per worker pipe, live snapshots and the retired sum.

    Also a collector of the supervisor's own numbers: live workers and restarts."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._retired = Snapshot()
        self._live: dict[int, tuple[str, Snapshot]] = {}
        self._serial = 0
        self._restarts = 0

    def pipe_for(self, worker: int) -> int:
        """A new pipe for worker process `worker`; returns the write end for it to inherit
        (close it in this process once the worker is started)."""
        read_end, write_end = os.pipe()
        with self._lock:
            self._serial += 1
            serial = self._serial
            self._live[serial] = (str(worker), Snapshot())
        threading.Thread(
            target=self._read, args=(serial, read_end), name=f"ficus-metrics-{worker}", daemon=True
        ).start()
        return write_end

    def restarted(self) -> None:
        with self._lock:
            self._restarts += 1

    def source(self) -> tuple[Snapshot, Sequence[tuple[str, Snapshot]]]:
        with self._lock:
            return self._retired, list(self._live.values())

    def _read(self, serial: int, fd: int) -> None:
        with os.fdopen(fd, "rb") as pipe:
            try:
                while head := pipe.read(_LENGTH.size):
                    (length,) = _LENGTH.unpack(head)
                    snapshot = decode(pipe.read(length))
                    with self._lock:
                        self._live[serial] = (self._live[serial][0], snapshot)
            except (ValueError, KeyError, TypeError, struct.error) as e:
                logger.warning("a proxy worker's metrics could not be read (%s)", type(e).__name__)
        with self._lock:
            _worker, last = self._live.pop(serial)
            retired = Snapshot()
            add_into(retired, self._retired)
            add_into(retired, last)
            self._retired = retired  # a new object: a scrape in progress keeps the old one

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            workers, restarts = len({w for w, _ in self._live.values()}), self._restarts
        yield from _worker_families(workers, restarts)


class _OneWorker(Collector):
    """A proxy without a supervisor: one worker, never restarted by Ficus."""

    def collect(self) -> Iterator[Metric]:
        yield from _worker_families(1, 0)


def _worker_families(workers: int, restarts: int) -> Iterator[Metric]:
    yield GaugeMetricFamily(
        "ficus_proxy_workers", "Worker processes serving the proxy's port", value=workers
    )
    yield CounterMetricFamily(
        "ficus_proxy_worker_restarts", "Workers restarted after they died", value=restarts
    )
