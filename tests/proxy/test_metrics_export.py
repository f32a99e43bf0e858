"""Workers' snapshots as one page: summed, monotonic past a retired worker, promtool-clean."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest

from proxy.metrics import ProxyMetrics, Snapshot
from proxy.metrics_export import ProxyCollector, add_into, decode, encode
from tests.support.prometheus import check_metrics, value

TEMPLATE = "/api/appointments/{id:int}"


def worker(requests: int, *, breaker: str = "closed", generation: int = 3) -> Snapshot:
    metrics = ProxyMetrics(
        breakers=lambda: [("http://127.0.0.1:8101", breaker)], generation=lambda: generation
    )
    for _ in range(requests):
        metrics.observe(
            "appointments", TEMPLATE, "GET", "appointments", "canary", "service", 200, 4.0
        )
    metrics.fell_back("appointments", TEMPLATE, "appointments")
    metrics.shadow_compared("appointments", TEMPLATE, "match")
    return metrics.snapshot()


def page(retired: Snapshot, *live: tuple[str, Snapshot]) -> str:
    registry = CollectorRegistry()
    registry.register(ProxyCollector(lambda: (retired, list(live))))
    return generate_latest(registry).decode()


def test_a_snapshot_survives_its_trip_over_the_pipe():
    snapshot = worker(3, breaker="open", generation=9)
    assert decode(encode(snapshot)) == snapshot


def test_counters_are_summed_over_live_and_retired_workers():
    retired = Snapshot()
    add_into(retired, worker(5))
    text = page(retired, ("1", worker(2)), ("2", worker(3)))

    assert value(text, "ficus_proxy_requests_total", template=TEMPLATE, side="service") == 10
    assert value(text, "ficus_proxy_request_duration_seconds_count") == 10
    assert value(text, "ficus_proxy_request_duration_seconds_bucket", le="0.005") == 10
    assert value(text, "ficus_proxy_request_duration_seconds_bucket", le="0.003") == 0
    assert value(text, "ficus_proxy_request_duration_seconds_sum") == 0.04
    assert value(text, "ficus_proxy_fallbacks_total") == 3
    assert value(text, "ficus_shadow_comparisons_total", result="match") == 3
    assert check_metrics(text) == ""


def test_gauges_are_the_live_workers_only_the_newest_process_per_index():
    retired = worker(1, breaker="open")
    text = page(
        retired,
        ("1", worker(1, breaker="open", generation=3)),  # the replaced process, still listed
        ("1", worker(1, breaker="closed", generation=4)),
        ("2", worker(1, breaker="open", generation=4)),
    )
    assert value(text, "ficus_proxy_breakers", state="open") == 1
    assert value(text, "ficus_proxy_breakers", state="closed") == 1
    assert value(text, "ficus_proxy_route_table_generation", worker="1") == 4
    assert check_metrics(text) == ""


def test_an_idle_proxy_still_declares_its_families():
    text = page(Snapshot())
    for name in ("ficus_proxy_requests_total", "ficus_shadow_comparisons_total"):
        assert f"# TYPE {name} counter" in text
    assert check_metrics(text) == ""
