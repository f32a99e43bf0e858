"""A plan's own health-check settings reach the proxy's pools: its path is the one probed.

Two real instances of one upstream whose plan sets `health: {path: /ops/ready, ...}` (not the
contract's default `/__ficus/health`); the proxy must probe that path, and an instance that
answers it 503 (while the default path still says 200) leaves the rotation until it recovers.
The tests wait for behaviour, never for a duration.
"""

from __future__ import annotations

import httpx
import pytest

from tests.proxy.processes import running_proxy
from tests.proxy.test_forwarder_breaker import eventually
from tests.support.backends import recording_backend

KEY = "an-identity-key-for-tests-only-0123456789"
READY = "/ops/ready"
PLAN = """\
feature: pooled
owner: Test
upstream:
  name: pooled
  instances: [{urls}]
  health: {{path: {path}, interval_seconds: 0.5, timeout_seconds: 0.5, unhealthy_after: 1}}
legacy_tables: []
routes:
  - method: GET
    path: /api/pooled/{{id:int}}
    phase: migrated
"""


@pytest.fixture
def world(tmp_path):
    plans = tmp_path / "plans"
    plans.mkdir()
    with (
        recording_backend("legacy") as legacy,
        recording_backend("a") as a,
        recording_backend("b") as b,
    ):
        (plans / "pooled.yaml").write_text(PLAN.format(urls=f"{a.url}, {b.url}", path=READY))
        with (
            running_proxy(
                tmp_path, legacy_url=legacy.url, plans_dir=plans, env={"FICUS_IDENTITY_KEY": KEY}
            ) as proxy,
            httpx.Client(base_url=proxy.url, timeout=20) as client,
        ):
            yield client, a, b


def probes(backend) -> list[tuple[str, str | None]]:
    return [(r.path, r.header("User-Agent")) for r in backend.requests if r.path == READY]


def served_by(client) -> set[str]:
    return {client.get("/api/pooled/1").json()["backend"] for _ in range(6)}


def test_the_plans_health_path_is_the_one_probed(world):
    _client, a, b = world
    eventually(lambda: probes(a) and probes(b))
    assert set(probes(a)) == {(READY, "ficus-health-check")}


def test_an_instance_failing_the_plans_health_path_leaves_the_rotation(world):
    client, a, _b = world
    assert served_by(client) == {"a", "b"}
    a.answer(READY, status=503)  # the default /__ficus/health would still say 200
    eventually(lambda: served_by(client) == {"b"})
    a.forget_answers()
    eventually(lambda: "a" in served_by(client))
