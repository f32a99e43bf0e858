"""The circuit breaker and the active health checks, with real servers and a real proxy.

Breaker: a service that fails (503) opens its instance's breaker after `--breaker-failures 3`;
while open, the proxy answers a write with 503 itself (a read: legacy answers, see
test_forwarder_fallback.py) and the service gets nothing; after the cool-down one probe goes
through, and its success closes the breaker again.

Health: a pool of two instances; when one fails its health checks (`/__ficus/health`, the
contract's default every 2 s, down after 2 failures) new requests all go to the other, and it is
used again once healthy. The tests wait for behaviour, never for a duration.
"""

from __future__ import annotations

import time

import httpx
import pytest

from tests.proxy.processes import running_proxy
from tests.proxy.raw_recorder import misbehaving
from tests.support.backends import recording_backend

KEY = "an-identity-key-for-tests-only-0123456789"
PLAN = """\
feature: {name}
owner: Test
upstream:
  name: {name}
  instances: [{urls}]
legacy_tables: []
routes:
  - method: GET
    path: /api/{name}/{{id:int}}
    phase: migrated
  - method: POST
    path: /api/{name}/{{id:int}}
    phase: migrated
"""


def eventually(condition, *, within: float = 30.0):
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError("the condition never held")


@pytest.fixture
def breaker_world(tmp_path):
    plans = tmp_path / "plans"
    plans.mkdir()
    with recording_backend("legacy") as legacy, misbehaving("failing") as service:
        (plans / "flaky.yaml").write_text(PLAN.format(name="flaky", urls=service.url))
        with (
            running_proxy(
                tmp_path,
                legacy_url=legacy.url,
                plans_dir=plans,
                env={"FICUS_IDENTITY_KEY": KEY},
                extra_args=["--breaker-failures", "3", "--breaker-cooldown", "1"],
            ) as proxy,
            httpx.Client(base_url=proxy.url, timeout=20) as client,
        ):
            yield proxy, client, service


def test_the_breaker_opens_after_repeated_5xx_and_refuses_without_calling(breaker_world):
    proxy, client, service = breaker_world
    for _ in range(3):
        client.get("/api/flaky/1")  # 503 from the service (legacy may answer the read)
    assert len(service.requests) == 3
    refused = client.post("/api/flaky/1", content=b"{}")
    assert refused.status_code == 503
    assert refused.json() == {
        "ERR": "SERVICE UNAVAILABLE: THE UPSTREAM IS FAILING, RETRY LATER",
        "CODE": 921,
    }
    assert proxy.log_lines()[-1]["error"] == "upstream_unavailable"
    read = client.get("/api/flaky/1")  # legacy answers it
    assert proxy.log_line(read.headers["X-Ficus-Request-Id"])["error"] == "upstream_unavailable"
    assert len(service.requests) == 3  # the open breaker sent nothing


def test_a_half_open_probe_that_succeeds_closes_the_breaker(breaker_world):
    _proxy, client, service = breaker_world
    for _ in range(3):
        client.get("/api/flaky/1")
    assert client.post("/api/flaky/1", content=b"{}").status_code == 503
    service.how = "ok"
    # After the cool-down exactly one probe goes through; it succeeds and closes the breaker.
    # (Until then legacy answers the reads.)
    eventually(lambda: client.get("/api/flaky/1").json() == {"ok": True})
    assert len(service.requests) == 4
    for _ in range(5):
        assert client.get("/api/flaky/1").json() == {"ok": True}
    assert len(service.requests) == 9


def test_a_half_open_probe_that_fails_opens_the_breaker_again(breaker_world):
    proxy, client, service = breaker_world
    for _ in range(3):
        client.get("/api/flaky/1")
    # Ask until the cool-down has passed and the probe reached the service.
    eventually(lambda: client.get("/api/flaky/1") is not None and len(service.requests) == 4)
    # The probe failed (503 again): the breaker is open, nothing more reaches the service.
    assert client.post("/api/flaky/1", content=b"{}").status_code == 503
    assert proxy.log_lines()[-1]["error"] == "upstream_unavailable"
    assert len(service.requests) == 4


@pytest.fixture
def pool_world(tmp_path):
    plans = tmp_path / "plans"
    plans.mkdir()
    with (
        recording_backend("legacy") as legacy,
        recording_backend("a") as a,
        recording_backend("b") as b,
    ):
        (plans / "pooled.yaml").write_text(PLAN.format(name="pooled", urls=f"{a.url}, {b.url}"))
        with (
            running_proxy(
                tmp_path, legacy_url=legacy.url, plans_dir=plans, env={"FICUS_IDENTITY_KEY": KEY}
            ) as proxy,
            httpx.Client(base_url=proxy.url, timeout=20) as client,
        ):
            yield client, a, b


def served_by(client) -> list[str]:
    return [client.get("/api/pooled/1").json()["backend"] for _ in range(6)]


def test_a_pool_balances_its_instances(pool_world):
    client, _a, _b = pool_world
    assert sorted(set(served_by(client))) == ["a", "b"]


def test_an_instance_failing_health_checks_is_skipped_until_it_recovers(pool_world):
    client, a, _b = pool_world
    a.health_status = 503
    eventually(lambda: set(served_by(client)) == {"b"})
    a.health_status = 200
    eventually(lambda: "a" in served_by(client))
