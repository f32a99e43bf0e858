"""Per-worker route statistics, flushed to `ficus_route_stats` about once a second (C2).

The event loop only adds to an in-memory dict keyed by (10 s window, feature, method, template,
side): requests, errors (5xx answers and upstream failures) and latency bucket counts
(`domain.latency`). A background thread swaps the dict out under a lock every `interval` and
inserts one row per key, so the gates read sums over rows and no worker ever updates another's
row. Windows are floored to 10 s in UTC, so a flush never mixes two windows in one row.

Bounded memory: at most `max_keys` keys are held (the route table bounds them in practice, but
a flood of unmatched methods must not grow it); a request for a new key beyond that is dropped
and counted in `dropped`. When the database cannot be written, the counts stay (merged into
the next flush, still within `max_keys`), and the outage is logged once, like the control
plane's. Unmatched requests arrive here under the legacy default route (feature `legacy`).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final

from sqlalchemy import Engine, insert
from sqlalchemy.exc import SQLAlchemyError

from domain.latency import add_buckets, bucket_index, empty_buckets
from proxy.control_schema import route_stats_table
from proxy.outage import OutageLog

logger = logging.getLogger(__name__)

FLUSH_SECONDS: Final = 1.0
WINDOW_SECONDS: Final = 10
MAX_KEYS: Final = 20_000
SIDES: Final = ("legacy", "service", "shadow")

# (window start as epoch seconds, feature, method, template, side)
StatsKey = tuple[int, str, str, str, str]


@dataclass(slots=True)
class Counts:
    requests: int = 0
    errors: int = 0
    buckets: list[int] = field(default_factory=empty_buckets)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[-64:]


class RouteStats:
    def __init__(
        self,
        *,
        max_keys: int = MAX_KEYS,
        clock: Callable[[], float] = time.time,
        worker: str | None = None,
    ) -> None:
        self._lock = threading.Lock()
        self._counts: dict[StatsKey, Counts] = {}
        self._max_keys = max_keys
        self._clock = clock
        self.worker = worker or worker_name()
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._counts)

    def record(
        self,
        feature: str,
        method: str,
        template: str,
        side: str,
        *,
        error: bool,
        latency_ms: float,
    ) -> None:
        now = self._clock()
        key = (int(now) // WINDOW_SECONDS * WINDOW_SECONDS, feature, method[:10], template, side)
        with self._lock:
            counts = self._counts.get(key)
            if counts is None:
                if len(self._counts) >= self._max_keys:
                    self.dropped += 1
                    return
                counts = self._counts[key] = Counts()
            counts.requests += 1
            counts.errors += error
            counts.buckets[bucket_index(max(0.0, latency_ms))] += 1

    def take(self) -> dict[StatsKey, Counts]:
        """Everything counted so far, leaving the stats empty."""
        with self._lock:
            taken, self._counts = self._counts, {}
        return taken

    def put_back(self, taken: dict[StatsKey, Counts]) -> None:
        """Counts that could not be written: merged back, within the key bound."""
        with self._lock:
            for key, counts in taken.items():
                mine = self._counts.get(key)
                if mine is None:
                    if len(self._counts) >= self._max_keys:
                        self.dropped += counts.requests
                        continue
                    self._counts[key] = counts
                    continue
                mine.requests += counts.requests
                mine.errors += counts.errors
                add_buckets(mine.buckets, counts.buckets)

    def rows(self, taken: dict[StatsKey, Counts]) -> list[dict[str, object]]:
        return [
            {
                "worker": self.worker,
                "feature": feature,
                "method": method,
                "template": template[:200],
                "side": side,
                "window_start": datetime.fromtimestamp(window, UTC),
                "requests": counts.requests,
                "errors": counts.errors,
                "latency_buckets": json.dumps(counts.buckets, separators=(",", ":")),
            }
            for (window, feature, method, template, side), counts in taken.items()
        ]


class StatsFlusher:
    """Writes a `RouteStats` to the control-plane database from a background thread."""

    def __init__(
        self, stats: RouteStats, engine: Engine, *, interval: float = FLUSH_SECONDS
    ) -> None:
        self._stats = stats
        self._engine = engine
        self._interval = interval
        self._outage = OutageLog(logger, "route stats")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ficus-route-stats", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop, after one last flush of what was counted."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def flush(self) -> int:
        """Write what was counted; returns the rows written (0 when the database failed)."""
        taken = self._stats.take()
        if not taken:
            return 0
        try:
            with self._engine.begin() as connection:
                connection.execute(insert(route_stats_table), self._stats.rows(taken))
        except SQLAlchemyError as e:
            self._stats.put_back(taken)
            self._outage.failed(e)
            return 0
        self._outage.succeeded()
        return len(taken)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self._flush_safely()
        self._flush_safely()

    def _flush_safely(self) -> None:
        try:
            self.flush()
        except Exception:  # the flusher must outlive any surprise
            logger.exception("route stats flush failed")
