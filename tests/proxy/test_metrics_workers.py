"""`runproxy --workers 2 --metrics-port P`: the supervisor's /metrics, summed over the workers.

Real processes: the operator scrapes one page whatever worker answered, promtool accepts it,
and a worker killed with SIGKILL takes none of its counts with it (a counter never goes down).
"""

from __future__ import annotations

import os
import signal
import socket

import httpx
import pytest

from tests.proxy.processes import running_proxy
from tests.proxy.test_workers import (
    children,
    eventually,
    fresh_requests,
    is_alive,
    listens_on,
    two_workers_before,
)
from tests.support.backends import recording_backend
from tests.support.ports import free_port
from tests.support.prometheus import check_metrics, scrape, value

REQUESTS = "ficus_proxy_requests_total"


def test_the_supervisor_serves_every_workers_counts_and_promtool_accepts_them(tmp_path):
    metrics_port = free_port()
    with (
        recording_backend("legacy") as legacy,
        two_workers_before(legacy.url, tmp_path, "--metrics-port", str(metrics_port)) as proxy,
    ):
        url = f"http://127.0.0.1:{metrics_port}/metrics"
        workers = children(proxy.process.pid)
        eventually(lambda: all(listens_on(p, proxy.port) for p in workers))
        assert not any(listens_on(p, metrics_port) for p in workers)  # the supervisor's port
        assert fresh_requests(proxy, 20) == [200] * 20
        eventually(lambda: value(scrape(url), REQUESTS) == 20)
        page = scrape(url)
        assert check_metrics(page) == ""
        # Unmatched requests count under the legacy default route's template, never a path.
        assert value(page, REQUESTS, feature="legacy", upstream="legacy", status_class="2xx") == 20
        assert "/page/3" not in page
        assert value(page, "ficus_proxy_request_duration_seconds_count") == 20
        assert value(page, "ficus_proxy_workers") == 2

        # The operator kills a worker: the totals never go down, and its replacement adds on.
        victim = workers[0]
        os.kill(victim, signal.SIGKILL)
        eventually(lambda: not is_alive(victim))
        seen = [value(scrape(url), REQUESTS)]
        eventually(lambda: len(children(proxy.process.pid)) == 2)
        eventually(lambda: all(listens_on(p, proxy.port) for p in children(proxy.process.pid)))
        assert fresh_requests(proxy, 10) == [200] * 10

        def grown() -> bool:
            seen.append(value(scrape(url), REQUESTS))
            return seen[-1] >= 30

        eventually(grown)
        assert seen == sorted(seen)  # monotonic through the death and the restart
        assert seen[0] == 20
        page = scrape(url)
        assert value(page, "ficus_proxy_worker_restarts_total") == 1
        assert check_metrics(page) == ""


def test_metrics_are_off_unless_asked_for(tmp_path):
    metrics_port = free_port()
    with recording_backend("legacy") as legacy, two_workers_before(legacy.url, tmp_path) as proxy:
        assert fresh_requests(proxy, 1) == [200]
        try:
            httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=2)
        except httpx.ConnectError:
            pass
        else:
            raise AssertionError("something answered /metrics on a proxy without --metrics-port")


def test_one_worker_serves_its_own_metrics_and_counts_refusals_without_a_route(tmp_path):
    metrics_port = free_port()
    plans = tmp_path / "plans"
    plans.mkdir()
    with (
        recording_backend("legacy") as legacy,
        running_proxy(
            tmp_path,
            legacy_url=legacy.url,
            plans_dir=plans,
            extra_args=["--metrics-port", str(metrics_port)],
        ) as proxy,
    ):
        url = f"http://127.0.0.1:{metrics_port}/metrics"
        with httpx.Client(timeout=10) as client:
            assert client.get(f"{proxy.url}/page/1").status_code == 200
            # An encoded slash is ambiguous: the guard refuses it before any route is chosen.
            assert client.get(f"{proxy.url}/a%2Fb").status_code == 400
        page = scrape(url)
        assert value(page, REQUESTS, side="legacy", status_class="2xx") == 1
        assert value(page, REQUESTS, side="proxy", template="-", status_class="4xx") == 1
        assert value(page, "ficus_proxy_workers") == 1
        assert "%2F" not in page
        assert check_metrics(page) == ""


def test_a_metrics_port_in_use_stops_the_start_with_the_reason(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        for workers in ("1", "2"):
            with (
                pytest.raises(RuntimeError, match=f"--metrics-port {port}") as info,
                running_proxy(
                    tmp_path / workers,
                    legacy_url="http://127.0.0.1:1",
                    plans_dir=tmp_path,
                    extra_args=["--workers", workers, "--metrics-port", str(port)],
                ),
            ):
                pass
            assert "exited with 2" in str(info.value)
