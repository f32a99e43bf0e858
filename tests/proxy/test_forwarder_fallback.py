"""A read a migrated service fails for want of an answer is answered by legacy, once.

The real proxy process (`--connect-timeout 1 --read-timeout 1`) in front of a recording legacy
app and one migrated feature per broken service: a port where nothing listens, a service that
accepts and never answers, one whose accept queue is full, one that sends garbage, one that
resets. A clinician's GET gets legacy's answer, and the access log says which service failed
and how (`fallback_from`, `error`). A write is never re-sent, and an open breaker is one more
failure legacy covers for.
"""

from __future__ import annotations

import httpx
import pytest

from proxy.fallback import DEFAULT_TIMEOUT_SECONDS
from tests.proxy.plans import write_flaky_plan
from tests.proxy.processes import running_proxy
from tests.proxy.raw_recorder import misbehaving
from tests.proxy.test_forwarder import broken_services
from tests.support.backends import recording_backend
from tests.support.ports import free_port
from tests.support.prometheus import check_metrics, scrape, value

KEY = "an-identity-key-for-tests-only-0123456789"
READ_TIMEOUT = 1.0
# The client waits no longer than the service's try (its read timeout) plus legacy's try.
CLIENT_TIMEOUT = READ_TIMEOUT + DEFAULT_TIMEOUT_SECONDS


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("fallback")
    with broken_services(workdir, read_timeout=READ_TIMEOUT, client_timeout=CLIENT_TIMEOUT) as w:
        yield w


@pytest.mark.parametrize(
    ("service", "error"),
    [
        ("down", "upstream_refused"),
        ("nowhere", "upstream_connect_timeout"),
        ("silent", "upstream_timeout"),
        ("garbage", "upstream_garbage"),
        ("reset", "upstream_reset"),
    ],
)
def test_a_clinicians_read_a_broken_service_fails_gets_legacys_answer(world, service, error):
    world["legacy"].clear()
    response = world["client"].get(f"/api/{service}/7?ward=3")
    assert response.status_code == 200
    assert response.json() == {"backend": "legacy", "path": f"/api/{service}/7?ward=3"}
    assert world["legacy"].paths() == [f"/api/{service}/7?ward=3"]  # asked once
    line = world["proxy"].log_line(response.headers["X-Ficus-Request-Id"])
    assert (line["upstream"], line["reason"], line["fallback_from"]) == (
        "legacy",
        "fallback",
        service,
    )
    assert (line["status"], line["error"]) == (200, error)
    assert line["route"] == f"/api/{service}/{{id:int}}"


def test_a_write_to_a_silent_service_is_never_sent_to_legacy(world):
    world["legacy"].clear()
    before = len(world["silent"].requests)
    response = world["client"].post("/api/silent/7", content=b'{"PAT_ID": 17}')
    assert response.status_code == 504
    assert len(world["silent"].requests) - before == 1
    assert world["legacy"].requests == []


@pytest.fixture
def breaker_world(tmp_path):
    metrics_port = free_port()
    plans = tmp_path / "plans"
    plans.mkdir()
    with recording_backend("legacy") as legacy, misbehaving("failing") as service:
        write_flaky_plan(plans, service.url)
        with (
            running_proxy(
                tmp_path,
                legacy_url=legacy.url,
                plans_dir=plans,
                env={"FICUS_IDENTITY_KEY": KEY},
                extra_args=[
                    *("--breaker-failures", "2", "--breaker-cooldown", "600"),
                    *("--metrics-port", str(metrics_port)),
                ],
            ) as proxy,
            httpx.Client(base_url=proxy.url, timeout=CLIENT_TIMEOUT) as client,
        ):
            yield proxy, client, service, legacy, f"http://127.0.0.1:{metrics_port}/metrics"


def test_while_the_breaker_is_open_reads_go_to_legacy_and_writes_get_503(breaker_world):
    proxy, client, service, legacy, _metrics = breaker_world
    for _ in range(2):  # the service answers 503 twice: legacy answers, the breaker opens
        assert client.get("/api/flaky/1").json()["backend"] == "legacy"
    assert len(service.requests) == 2
    legacy.clear()
    read = client.get("/api/flaky/1")
    assert read.status_code == 200
    assert read.json()["backend"] == "legacy"
    line = proxy.log_line(read.headers["X-Ficus-Request-Id"])
    assert (line["error"], line["fallback_from"]) == ("upstream_unavailable", "flaky")
    write = client.post("/api/flaky/1", content=b"{}")
    assert write.status_code == 503
    assert write.json() == {
        "ERR": "SERVICE UNAVAILABLE: THE UPSTREAM IS FAILING, RETRY LATER",
        "CODE": 921,
    }
    assert len(service.requests) == 2  # the open breaker sent nothing more
    assert legacy.paths() == ["/api/flaky/1"]  # the read only


def test_the_operator_sees_the_fallbacks_and_the_open_breaker_in_the_metrics(breaker_world):
    _proxy, client, _service, _legacy, metrics_url = breaker_world
    for _ in range(3):
        assert client.get("/api/flaky/1").json()["backend"] == "legacy"
    page = scrape(metrics_url)
    template = "/api/flaky/{id:int}"
    assert value(page, "ficus_proxy_fallbacks_total", template=template, upstream="flaky") == 3
    # Served by legacy after all: the request counts on the side that answered.
    assert value(page, "ficus_proxy_requests_total", template=template, side="legacy") == 3
    assert value(page, "ficus_proxy_breakers", state="open") == 1
    assert check_metrics(page) == ""
