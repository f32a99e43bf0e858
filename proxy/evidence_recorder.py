"""Shadow exchanges compared off the response path, in one background thread.

The event loop only calls `offer`: a non-blocking put on a queue bounded both in exchanges
(`max_queue`) and in body bytes held (`max_queue_bytes`); an exchange beyond either bound is
dropped and counted in `dropped`, so a flood of large answers costs bounded memory and never
blocks a request. The thread takes exchanges off the queue, compares them (`domain.comparison`,
CPU work that stays off the event loop), counts the result in this window's `RouteTally`
(`domain.noise`), de-identifies the values of differing fields (`domain.deidentify`) and keeps
them as samples, and flushes everything to the control plane about once a second
(`proxy.evidence_store`).

- a copy that failed (the service's part is None) is an error outcome, already counted in route
  stats; it is not compared and is no difference;
- legacy asked twice (noise, sampled idempotent reads) is compared legacy against legacy with
  the same rules;
- without an evidence key (`FICUS_EVIDENCE_KEY`) nothing is sampled at all: a raw value is
  never stored. Tallies are counted either way, under field names that store no identifier
  either (de-identified with a key; without one, members that may be identifiers are folded
  into `<member>`, `domain.deidentify.keyless_path`);
- comparing is CPU work under the GIL: the thread pauses after each exchange so that it uses
  at most `cpu_share` (a quarter) of a core, and the event loop keeps the interpreter; what it
  cannot keep up with is dropped at the queue and counted (logged at most once a minute).
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Mapping
from typing import Final, Protocol

from sqlalchemy import Engine

from domain.deidentify import Deidentifier, key_from_environment
from domain.noise import ExchangeResult
from proxy.evidence_compare import Deidentifying, FeatureCompare, compare_exchange
from proxy.evidence_store import EvidenceStore
from proxy.route_stats import worker_name
from proxy.shadow import MAX_BODY_BYTES
from proxy.shadow_compare import Exchange

logger = logging.getLogger(__name__)

FLUSH_SECONDS: Final = 1.0
MAX_QUEUE: Final = 512
MAX_QUEUE_BYTES: Final = 32 * 1024 * 1024
# The share of one core the comparing thread may use, at most (it yields the rest).
CPU_SHARE: Final = 0.25
DROPS_REPORT_SECONDS: Final = 60.0


def evidence_deidentifier(environ: Mapping[str, str]) -> Deidentifier | None:
    """The samples' de-identifier from $FICUS_EVIDENCE_KEY; None (logged) without a key:
    differences are then counted, never sampled. ValueError for a key that is not one."""
    key = key_from_environment(environ)
    if key is None:
        logger.warning(
            "no FICUS_EVIDENCE_KEY: shadow differences are counted but no samples are kept"
        )
        return None
    return Deidentifier(key)


class ComparisonCounter(Protocol):
    """What the recorder needs of `proxy.metrics.ProxyMetrics`."""

    def shadow_compared(self, feature: str, template: str, result: str) -> None: ...


class EvidenceRecorder:
    def __init__(
        self,
        engine: Engine,
        settings: Callable[[], Mapping[str, FeatureCompare]],
        deidentifier: Deidentifying | None,
        *,
        max_body_bytes: int = MAX_BODY_BYTES,
        max_queue: int = MAX_QUEUE,
        max_queue_bytes: int = MAX_QUEUE_BYTES,
        cpu_share: float = CPU_SHARE,
        interval: float = FLUSH_SECONDS,
        clock: Callable[[], float] = time.time,
        store: EvidenceStore | None = None,
        metrics: ComparisonCounter | None = None,
    ) -> None:
        self._engine = engine
        self._metrics = metrics  # Prometheus's per-exchange count, when metrics are exported
        self._settings = settings
        self._deidentifier = deidentifier
        self._queue: queue.Queue[Exchange | None] = queue.Queue(maxsize=max_queue)
        self._max_bytes = max_queue_bytes
        self._max_body_bytes = max_body_bytes
        self._bytes = 0
        self._bytes_lock = threading.Lock()
        self._interval = interval
        self._cpu_share = cpu_share
        self._reported_drops = 0
        self._last_report = float("-inf")
        self._clock = clock
        self.store = store or EvidenceStore(worker=worker_name(), clock=clock)
        self.dropped = 0  # exchanges not compared: the queue was full
        self.compared = 0  # exchanges taken off the queue and compared
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ficus-evidence", daemon=True)

    @property
    def queued(self) -> int:
        return self._queue.qsize()

    def offer(self, exchange: Exchange) -> bool:
        """Queue one exchange for comparison (event loop); False, counted, if full. Never blocks."""
        size = exchange.size
        with self._bytes_lock:
            if self._bytes + size > self._max_bytes:
                self.dropped += 1
                return False
            self._bytes += size
        try:
            self._queue.put_nowait(exchange)
        except queue.Full:
            with self._bytes_lock:
                self._bytes -= size
            self.dropped += 1
            return False
        return True

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop after one last flush (what is still queued is dropped)."""
        self._stop.set()
        with contextlib.suppress(queue.Full):
            self._queue.put_nowait(None)  # wakes the thread
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def drain(self) -> None:
        """Compare everything queued now, then flush (tests, and the last flush)."""
        while True:
            try:
                exchange = self._queue.get_nowait()
            except queue.Empty:
                break
            self._take(exchange)
        self.flush()

    def flush(self) -> int:
        self._report_drops()
        settings = self._settings()
        retention = {f: float(s.settings.retention_days) for f, s in settings.items()}
        return self.store.flush(self._engine, retention)

    def _run(self) -> None:
        next_flush = time.monotonic() + self._interval
        while not self._stop.is_set():
            try:
                exchange = self._queue.get(timeout=max(0.0, next_flush - time.monotonic()))
            except queue.Empty:
                exchange = None
            if exchange is not None:
                started = time.thread_time()
                self._take_safely(exchange)
                # Comparing holds the GIL: pause so that it takes at most `cpu_share` of a
                # core, and the event loop gets the interpreter back (the queue bounds the
                # rest, dropped and counted).
                busy = time.thread_time() - started
                self._stop.wait(busy * (1 - self._cpu_share) / self._cpu_share)
            if time.monotonic() >= next_flush:
                self._flush_safely()
                next_flush = time.monotonic() + self._interval
        # What is still queued is not compared at shutdown (it could take long): only flushed.
        self._flush_safely()

    def _report_drops(self) -> None:
        """Drops are logged at most once a minute, with the counts so far."""
        now = time.monotonic()
        if self.dropped == self._reported_drops or now - self._last_report < DROPS_REPORT_SECONDS:
            return
        self._reported_drops, self._last_report = self.dropped, now
        logger.warning(
            "shadow evidence: %d exchanges not compared (queue full), %d route windows and "
            "%d samples not kept (bounds) so far",
            self.dropped,
            self.store.dropped_keys,
            self.store.dropped_samples,
        )

    def _take(self, exchange: Exchange | None) -> None:
        if exchange is None:
            return
        with self._bytes_lock:
            self._bytes -= exchange.size
        settings = self._settings().get(exchange.feature)
        if settings is None:
            return  # the feature left the plans while its exchange waited
        result = compare_exchange(
            exchange, settings, self.store, self._deidentifier, max_body_bytes=self._max_body_bytes
        )
        if result is not ExchangeResult.ERROR:
            self.compared += 1
        if self._metrics is not None:
            self._metrics.shadow_compared(exchange.feature, exchange.template, result.value)

    def _take_safely(self, exchange: Exchange) -> None:
        try:
            self._take(exchange)
        except Exception:  # one odd answer must not stop the comparing
            logger.exception("shadow comparison failed")

    def _flush_safely(self) -> None:
        try:
            self.flush()
        except Exception:  # the flusher must outlive any surprise
            logger.exception("shadow evidence flush failed")
