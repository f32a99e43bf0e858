"""A worker's counts: by route template and status class, bounded; the shadow pipeline's entry."""

from __future__ import annotations

import threading

import pytest

from domain.latency import BOUNDS_MS, bucket_index
from proxy.metrics import SHADOW_RESULTS, ProxyMetrics, status_class

TEMPLATE = "/api/appointments/{id:int}"


def test_a_request_counts_once_in_its_series_and_latency_bucket():
    metrics = ProxyMetrics()
    metrics.observe(
        "appointments", TEMPLATE, "GET", "appointments", "migrated", "service", 200, 12.0
    )
    metrics.observe(
        "appointments", TEMPLATE, "GET", "appointments", "migrated", "service", 204, 3.0
    )

    ((key, series),) = metrics.snapshot().requests.items()
    assert key == ("appointments", TEMPLATE, "GET", "appointments", "migrated", "service", "2xx")
    assert sum(series.buckets) == 2
    assert series.buckets[bucket_index(12.0)] == series.buckets[bucket_index(3.0)] == 1
    assert series.total_ms == 15.0
    assert len(series.buckets) == len(BOUNDS_MS) + 1  # the gates' buckets


def test_an_unknown_method_and_a_missing_answer_have_fixed_labels():
    metrics = ProxyMetrics()
    metrics.observe("legacy", "/{path}", "BREW", "legacy", "legacy", "legacy", None, 1.0)
    (key,) = metrics.snapshot().requests
    assert key[2] == "OTHER"
    assert key[6] == "none"
    assert [status_class(s) for s in (101, 302, 404, 503, 999)] == [
        "1xx",
        "3xx",
        "4xx",
        "5xx",
        "none",
    ]


def test_the_series_are_bounded_and_what_falls_beyond_is_counted():
    metrics = ProxyMetrics(max_series=2)
    for i in range(5):
        metrics.observe("legacy", f"/t{i}", "GET", "legacy", "legacy", "legacy", 200, 1.0)
    snapshot = metrics.snapshot()
    assert len(snapshot.requests) == 2
    assert snapshot.dropped == 3


@pytest.mark.parametrize("result", SHADOW_RESULTS)
def test_the_shadow_pipeline_counts_each_comparison_by_result(result):
    metrics = ProxyMetrics()
    metrics.shadow_compared("patients", "/api/patients/{id:int}", result)
    metrics.shadow_compared("patients", "/api/patients/{id:int}", result)
    assert metrics.snapshot().shadow == {("patients", "/api/patients/{id:int}", result): 2}


def test_an_unknown_shadow_result_is_refused():
    with pytest.raises(ValueError, match="match, noise, difference, error"):
        ProxyMetrics().shadow_compared("patients", "/api/patients", "close-enough")


def test_a_snapshot_is_a_copy_and_reads_the_gauges_now():
    states = [("http://127.0.0.1:8101", "closed")]
    metrics = ProxyMetrics(breakers=lambda: states, generation=lambda: 7)
    metrics.fell_back("appointments", TEMPLATE, "appointments")
    first = metrics.snapshot()
    states[0] = ("http://127.0.0.1:8101", "open")
    metrics.fell_back("appointments", TEMPLATE, "appointments")
    second = metrics.snapshot()
    assert first.fallbacks == {("appointments", TEMPLATE, "appointments"): 1}
    assert second.fallbacks == {("appointments", TEMPLATE, "appointments"): 2}
    assert (first.breakers, second.breakers) == (
        {"http://127.0.0.1:8101": "closed"},
        {"http://127.0.0.1:8101": "open"},
    )
    assert second.generation == 7


def test_drops_counted_on_the_event_loop_and_the_recorder_thread_are_all_kept():
    """observe() runs on the event loop, shadow_compared() in the recorder's thread."""
    metrics = ProxyMetrics(max_series=1)
    metrics.observe("a", "/a", "GET", "a", "canary", "service", 200, 1.0)
    metrics.shadow_compared("a", "/a", "match")
    started = threading.Barrier(2)

    def compare_many():
        started.wait()
        for n in range(20_000):
            metrics.shadow_compared("a", f"/b{n}", "match")

    recorder = threading.Thread(target=compare_many)
    recorder.start()
    started.wait()
    for n in range(20_000):
        metrics.observe("a", f"/b{n}", "GET", "a", "canary", "service", 200, 1.0)
        metrics.snapshot()
    recorder.join()
    assert metrics.snapshot().dropped == 40_000
