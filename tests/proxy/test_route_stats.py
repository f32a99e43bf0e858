"""Route stats: counted in memory per 10 s window, flushed as rows, bounded, kept on failure."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import create_engine

from domain.latency import BUCKET_COUNT, bucket_index
from proxy.route_stats import RouteStats, StatsFlusher
from tests.proxy.control_db import ddl_control_db, migrated_control_db, stats_rows


class Clock:
    def __init__(self, now=1_800_000_003.0):
        self.now = now

    def __call__(self):
        return self.now


def test_it_writes_one_row_per_route_side_and_window_into_the_real_table(tmp_path):
    url = migrated_control_db(tmp_path / "control.sqlite3")
    clock = Clock()
    stats = RouteStats(clock=clock, worker="w1")
    stats.record("charts", "GET", "/api/charts/{id:int}", "service", error=False, latency_ms=3)
    stats.record("charts", "GET", "/api/charts/{id:int}", "service", error=True, latency_ms=700)
    stats.record("charts", "GET", "/api/charts/{id:int}", "legacy", error=False, latency_ms=9)
    stats.record("legacy", "DELETE", "/**", "legacy", error=False, latency_ms=1)
    clock.now += 10  # the next window
    stats.record("charts", "GET", "/api/charts/{id:int}", "service", error=False, latency_ms=3)
    engine = create_engine(url)
    try:
        assert StatsFlusher(stats, engine).flush() == 4
    finally:
        engine.dispose()
    rows = stats_rows(url)
    by_key = {(r["feature"], r["method"], r["side"], r["window_start"]): r for r in rows}
    first = by_key[("charts", "GET", "service", datetime(2027, 1, 15, 8, 0))]
    assert (first["requests"], first["errors"], first["worker"]) == (2, 1, "w1")
    assert len(first["latency_buckets"]) == BUCKET_COUNT
    assert first["latency_buckets"][bucket_index(700)] == 1
    assert ("legacy", "DELETE", "legacy", datetime(2027, 1, 15, 8, 0)) in by_key
    assert ("charts", "GET", "service", datetime(2027, 1, 15, 8, 0, 10)) in by_key
    assert len(stats) == 0  # flushed counts are gone from memory


def test_it_holds_at_most_max_keys_and_counts_what_it_dropped():
    stats = RouteStats(max_keys=2)
    for method in ("GET", "POST", "PUT", "PATCH"):
        stats.record("legacy", method, "/**", "legacy", error=False, latency_ms=1)
    stats.record("legacy", "GET", "/**", "legacy", error=False, latency_ms=1)  # a known key
    assert (len(stats), stats.dropped) == (2, 2)


def test_counts_survive_a_database_outage_and_are_written_once_it_returns(tmp_path, caplog):
    path = tmp_path / "control.sqlite3"
    stats = RouteStats(worker="w1")
    stats.record("charts", "GET", "/api/charts", "service", error=False, latency_ms=1)
    engine = create_engine(f"sqlite:///{path}")  # no tables yet: the insert fails
    try:
        flusher = StatsFlusher(stats, engine)
        with caplog.at_level(logging.WARNING, logger="proxy.route_stats"):
            assert flusher.flush() == 0
            stats.record("charts", "GET", "/api/charts", "service", error=False, latency_ms=1)
            assert flusher.flush() == 0
        assert len(caplog.records) == 1
        assert "route stats not written (OperationalError: no such table" in caplog.text
        ddl_control_db(path)
        assert flusher.flush() == 1
    finally:
        engine.dispose()
    (row,) = stats_rows(f"sqlite:///{path}")
    assert row["requests"] == 2


def test_stopping_the_flusher_writes_what_is_left(tmp_path):
    url = ddl_control_db(tmp_path / "control.sqlite3")
    stats = RouteStats()
    engine = create_engine(url)
    flusher = StatsFlusher(stats, engine, interval=60)
    flusher.start()
    stats.record("charts", "GET", "/api/charts", "shadow", error=True, latency_ms=2000)
    flusher.stop()
    engine.dispose()
    (row,) = stats_rows(url)
    assert (row["side"], row["errors"]) == ("shadow", 1)
