"""An upstream that lies about framing poisons nobody: not through the fallback, not via shadow.

A real proxy process in front of `Hostile` (tests/proxy/raw_recorder.py), a raw-socket upstream
that hides a whole second answer, with an attacker's `Set-Cookie`, behind the answer it
declares (after a HEAD answer, behind a short Content-Length, after a 204), or frames an answer
two ways (Content-Length with Transfer-Encoding, a header line ended by a bare LF).

- As the legacy app behind the read fallback (a migrated service that answers 503): the
  outsider who makes legacy lie gets the declared answer, and the clinician who reads next gets
  legacy's honest answer, on a fresh connection; an answer framed two ways gets the generic 502.
- As a shadowed service: the connection a copy was lied to on carries no second copy, and a
  copy framed two ways counts as a shadow error in route stats.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.proxy.control_db import migrated_control_db, stats_rows
from tests.proxy.plans import write_flaky_plan
from tests.proxy.processes import raw_exchange, running_proxy, status_of
from tests.proxy.raw_recorder import Hostile, hostile, misbehaving
from tests.support.backends import recording_backend

KEY = "an-identity-key-for-tests-only-0123456789"
WAIT_SECONDS = 15.0
SHADOW_PLAN = """\
feature: {feature}
owner: Test
upstream:
  name: {feature}
  instances: [{url}]
legacy_tables: []
shadow: {{sample_percent: 100, timeout_seconds: 5, max_in_flight: 4}}
routes:
  - method: GET
    path: /api/{feature}/{{id:int}}
    phase: shadow
"""
# (how the upstream lies, the method that lets it, the status the first client gets)
LEFTOVERS = [
    ("head-leftover", "HEAD", 200),
    ("short-length", "GET", 200),
    ("no-content-body", "GET", 204),
]
TWO_WAYS = ["cl-te", "bare-lf"]


def wait_until(check: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if check():
            return True
        threading.Event().wait(0.05)
    return False


def last_on_its_connection(upstream: Hostile, target: bytes) -> bool:
    """Whether nothing was sent after target on the connection that carried it."""
    (connection,) = [c for c in upstream.connections if target in c]
    return connection[-1] == target


def assert_unpoisoned(response: httpx.Response) -> None:
    assert "set-cookie" not in response.headers
    assert b"poisoned" not in response.content
    assert b"attacker" not in response.content


# --- the legacy app behind the read fallback ----------------------------------------------------


@pytest.fixture(scope="module")
def fallback_world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hostile-legacy")
    plans = tmp / "plans"
    plans.mkdir()
    with hostile() as legacy, misbehaving("failing") as service:
        write_flaky_plan(plans, service.url)
        with running_proxy(
            tmp / "proxy",
            legacy_url=legacy.url,
            plans_dir=plans,
            env={"FICUS_IDENTITY_KEY": KEY},
        ) as proxy:
            yield proxy, legacy, service


@pytest.mark.parametrize(("how", "method", "status"), LEFTOVERS, ids=[c[0] for c in LEFTOVERS])
def test_bytes_legacy_hid_behind_an_answer_never_reach_the_next_clinician(
    fallback_world, how, method, status
):
    proxy, legacy, _service = fallback_world
    lie = f"/api/flaky/1?how={how}"
    honest = f"/api/flaky/2?after={how}"
    with httpx.Client(base_url=proxy.url, timeout=20) as outsider:
        first = outsider.request(method, lie)
    assert first.status_code == status
    assert_unpoisoned(first)
    with httpx.Client(base_url=proxy.url, timeout=20) as clinician:
        answer = clinician.get(honest)
    assert answer.status_code == 200
    assert answer.json() == {"backend": "hostile"}
    assert_unpoisoned(answer)
    line = proxy.log_line(answer.headers["X-Ficus-Request-Id"])
    assert (line["upstream"], line["fallback_from"]) == ("legacy", "flaky")
    # The connection legacy lied on carried nothing more: the clinician's read went on another.
    assert last_on_its_connection(legacy, lie.encode())


@pytest.mark.parametrize("how", TWO_WAYS)
def test_an_answer_legacy_framed_two_ways_gets_the_generic_502(fallback_world, how):
    proxy, legacy, _service = fallback_world
    with httpx.Client(base_url=proxy.url, timeout=20) as outsider:
        response = outsider.get(f"/api/flaky/3?how={how}")
    assert response.status_code == 502
    # The proxy's own 502 in the legacy API's shape (domain/answers.py), no upstream byte in it.
    assert response.headers["content-type"] == "application/json"
    assert response.json()["CODE"] == 920
    assert_unpoisoned(response)
    assert b"ok" not in response.content.lower()
    line = proxy.log_line(response.headers["X-Ficus-Request-Id"])
    assert (line["error"], line["fallback_from"]) == ("fallback_failed", "flaky")
    # Nothing more was sent on the connection that answered so.
    target = f"/api/flaky/3?how={how}".encode()
    assert last_on_its_connection(legacy, target)


def test_raw_utf8_in_a_read_legacy_would_refuse_is_refused_before_any_fallback(fallback_world):
    proxy, legacy, service = fallback_world
    before, service_before = legacy.targets(), len(service.requests)
    # Legacy's own server answers this 400; the proxy used to percent-encode it, let the
    # service fail it, and have legacy answer the encoded form with 200.
    raw = b"GET /api/flaky/by-name/caf\xc3\xa9 HTTP/1.1\r\nHost: hospital.example\r\n"
    answer = raw_exchange(proxy.port, raw + b"Connection: close\r\n\r\n")
    assert status_of(answer) == 400
    assert b"VISIBLE ASCII" in answer  # the legacy shape upper-cases the reason
    assert legacy.targets() == before
    assert len(service.requests) == service_before


# --- a shadowed service -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def shadow_world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hostile-service")
    control_url = migrated_control_db(tmp / "control.sqlite3")
    plans = tmp / "plans"
    plans.mkdir()
    with recording_backend("legacy") as legacy, hostile() as service:
        for feature in ("mirror", "garbled"):
            (plans / f"{feature}.yaml").write_text(
                SHADOW_PLAN.format(feature=feature, url=service.url)
            )
        env = {"FICUS_CONTROL_DB_URL": control_url, "FICUS_IDENTITY_KEY": KEY}
        with (
            running_proxy(tmp / "proxy", legacy_url=legacy.url, plans_dir=plans, env=env) as proxy,
            httpx.Client(base_url=proxy.url, timeout=10) as client,
        ):
            yield client, service, control_url


def shadow_rows(control: str, feature: str) -> list[dict[str, Any]]:
    return [r for r in stats_rows(control) if r["feature"] == feature and r["side"] == "shadow"]


@pytest.mark.parametrize(("how", "method", "status"), LEFTOVERS, ids=[c[0] for c in LEFTOVERS])
def test_a_connection_a_service_lied_on_carries_no_second_copy(shadow_world, how, method, status):
    client, service, _control = shadow_world
    lie = f"/api/mirror/1?how={how}".encode()
    honest = f"/api/mirror/2?after={how}".encode()
    assert client.request(method, lie.decode()).status_code == 200  # legacy's answer
    assert wait_until(lambda: lie in service.targets())
    assert client.get(honest.decode()).json()["backend"] == "legacy"
    assert wait_until(lambda: honest in service.targets())
    assert last_on_its_connection(service, lie)


def test_a_copy_answered_framed_two_ways_counts_as_a_shadow_error(shadow_world):
    client, service, control = shadow_world
    for n, how in enumerate(TWO_WAYS):
        assert client.get(f"/api/garbled/{n}?how={how}").json()["backend"] == "legacy"
    assert wait_until(lambda: sum(r["requests"] for r in shadow_rows(control, "garbled")) == 2)
    (row,) = shadow_rows(control, "garbled")
    assert row["errors"] == 2
    for n, how in enumerate(TWO_WAYS):
        target = f"/api/garbled/{n}?how={how}".encode()
        assert last_on_its_connection(service, target)
