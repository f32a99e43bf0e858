"""What the proxy refuses itself is nobody's failure: no breaker opens, no route stat moves.

A real proxy process in front of a recording legacy app and one migrated service, with a real
control-plane database for route stats. Any client could otherwise send five requests that the
proxy cannot forward (a raw byte in the query) and so open the service's breaker: every
migrated read would then be served by legacy for the cool-down, and the promotion gates would
read the refusals as the service's errors.
"""

from __future__ import annotations

import socket
import time
from typing import Any

import pytest

from tests.proxy.control_db import ddl_control_db, stats_rows
from tests.proxy.processes import raw_exchange, running_proxy, status_of
from tests.support.backends import recording_backend
from tests.support.ports import LOOPBACK

KEY = "an-identity-key-for-tests-only-0123456789"
PLAN = """\
feature: charts
owner: Test
upstream:
  name: charts
  instances: [{url}]
legacy_tables: []
routes:
  - method: GET
    path: /api/charts/{{id:int}}
    phase: migrated
"""


def get(target: bytes) -> bytes:
    return b"GET " + target + b" HTTP/1.1\r\nHost: hospital.example\r\nConnection: close\r\n\r\n"


def eventually(condition, *, within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError("the condition never held")


@pytest.fixture
def world(tmp_path):
    plans = tmp_path / "plans"
    plans.mkdir()
    control = ddl_control_db(tmp_path / "control.sqlite3")
    with recording_backend("legacy") as legacy, recording_backend("charts") as service:
        (plans / "charts.yaml").write_text(PLAN.format(url=service.url))
        env = {"FICUS_IDENTITY_KEY": KEY, "FICUS_CONTROL_DB_URL": control}
        # The default breaker: five failures open it. Heads get 1 s (the 408 test's wait).
        with running_proxy(
            tmp_path,
            legacy_url=legacy.url,
            plans_dir=plans,
            env=env,
            extra_args=["--head-timeout", "1"],
        ) as proxy:
            yield proxy, control, legacy, service


def service_rows(control: str) -> list[dict[str, Any]]:
    return [r for r in stats_rows(control) if r["side"] == "service"]


def test_five_unforwardable_requests_open_no_breaker_and_count_in_no_route_stats(world):
    proxy, control, legacy, service = world
    for _ in range(5):
        assert status_of(raw_exchange(proxy.port, get(b"/api/charts/1?q=\xff"))) == 400
    assert service.requests == []
    assert legacy.requests == []
    # The breaker is closed: the service, not legacy, answers the next read.
    assert status_of(raw_exchange(proxy.port, get(b"/api/charts/1?q=ok"))) == 200
    assert [r.path for r in service.requests] == ["/api/charts/1?q=ok"]
    assert legacy.requests == []
    # Route stats hold that one read only, and no error.
    eventually(lambda: service_rows(control) != [])
    rows = service_rows(control)
    assert sum(r["requests"] for r in rows) == 1
    assert sum(r["errors"] for r in rows) == 0
    assert [r for r in stats_rows(control) if r["side"] == "legacy"] == []
    assert [line.get("error") for line in proxy.log_lines()] == ["bad_request"] * 5 + [None]


def unfinished(port: int, head: bytes) -> bytes:
    """Send a head that never ends and wait for the proxy's answer (its deadline: 1 s)."""
    with socket.create_connection((LOOPBACK, port), timeout=10) as sock:
        sock.sendall(head)
        return sock.recv(65536)


def test_heads_refused_while_read_open_no_breaker_and_count_in_no_route_stats(world):
    proxy, control, legacy, service = world
    big = b"GET /api/charts/1 HTTP/1.1\r\nHost: hospital.example\r\nX-Big: " + b"a" * 70_000
    slow = b"GET /api/charts/1 HTTP/1.1\r\nHost: hospital.example\r\n"
    for _ in range(5):
        assert status_of(raw_exchange(proxy.port, big)) == 431
    for _ in range(5):
        assert status_of(unfinished(proxy.port, slow)) == 408
    assert service.requests == []
    assert legacy.requests == []
    # The breaker is closed: the service answers the next read, and route stats hold only it.
    assert status_of(raw_exchange(proxy.port, get(b"/api/charts/1"))) == 200
    assert [r.path for r in service.requests] == ["/api/charts/1"]
    eventually(lambda: service_rows(control) != [])
    rows = service_rows(control)
    assert sum(r["requests"] for r in rows) == 1
    assert sum(r["errors"] for r in rows) == 0
    assert [r for r in stats_rows(control) if r["side"] == "legacy"] == []
    errors = [line.get("error") for line in proxy.log_lines()]
    assert errors == ["head_too_large"] * 5 + ["head_timeout"] * 5 + [None]
    assert {line["status"] for line in proxy.log_lines()[:10]} == {431, 408}
