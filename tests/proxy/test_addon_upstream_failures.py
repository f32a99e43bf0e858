"""A service the forwarder cannot reach: reads fall back to legacy, writes do not, and both
count as the service side's errors in route stats.

Ficus's addons and the real Forwarder on mitmproxy's test harness, in hook order, with a real
control-plane SQLite file (so route stats are kept), a real recording backend as the legacy
app and, as the `charts` service, a loopback port where nothing listens.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from mitmproxy import http
from mitmproxy.test import taddons, tflow, tutils

from proxy.forwarder import Forwarder
from proxy.upstreams import InstanceStates
from tests.proxy.control_db import ddl_control_db
from tests.proxy.hooks import FicusChain, finished
from tests.support.backends import recording_backend
from tests.support.ports import LOOPBACK, free_port

KEY = "an-identity-key-for-tests-only-0123456789"
PLAN = """\
feature: charts
owner: Test
upstream:
  name: charts
  instances: [http://{host}:{port}]
legacy_tables: []
routes:
  - method: GET
    path: /api/charts/{{id:int}}
    phase: migrated
  - method: POST
    path: /api/charts/{{id:int}}
    phase: migrated
"""


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture
def legacy():
    with recording_backend("legacy") as backend:
        yield backend


@pytest.fixture
async def proxy(tmp_path):
    plans = tmp_path / "plans"
    plans.mkdir()
    (plans / "charts.yaml").write_text(PLAN.format(host=LOOPBACK, port=free_port()))
    addon = FicusChain()
    forwarder = Forwarder(states=InstanceStates())
    with taddons.context(addon, forwarder) as tctx:
        tctx.configure(
            addon,
            ficus_plans=str(plans),
            ficus_legacy_db=f"sqlite:///{tmp_path / 'legacy.sqlite3'}",
            ficus_access_log=str(tmp_path / "access.log"),
            ficus_identity_key=KEY,
            ficus_control_db=ddl_control_db(tmp_path / "control.sqlite3"),
            ficus_connect_timeout=1.0,
            ficus_read_timeout=1.0,
        )
        try:
            yield addon, forwarder
        finally:
            await forwarder.done()
            closing = addon.done()
            if closing is not None:
                await closing


async def through(proxy, legacy, method: bytes, path: bytes) -> http.HTTPFlow:
    """The request hooks in mitmproxy's order, then the response hook."""
    addon, forwarder = proxy
    request = tutils.treq(
        method=method, path=path, headers=http.Headers([(b"Host", b"h:8000")]), content=b"{}"
    )
    request.data.host, request.data.port = "127.0.0.1", legacy.port  # the reverse-mode target
    flow = tflow.tflow(req=request)
    await finished(addon.request(flow))
    await forwarder.request(flow)
    await finished(addon.response(flow))
    return flow


def service_counts(addon: FicusChain) -> dict[tuple[str, str], tuple[int, int]]:
    return {
        (key[2], key[4]): (counts.requests, counts.errors)
        for key, counts in addon.stats.take().items()
    }


def last_log(tmp_path) -> Any:
    return json.loads((tmp_path / "access.log").read_text().splitlines()[-1])


@pytest.mark.anyio
async def test_a_read_the_service_cannot_take_is_answered_by_legacy(proxy, legacy, tmp_path):
    flow = await through(proxy, legacy, b"GET", b"/api/charts/3?x=1")
    assert flow.response is not None
    assert flow.response.status_code == 200
    assert json.loads(flow.response.content or b"") == {
        "backend": "legacy",
        "path": "/api/charts/3?x=1",
    }
    assert [(r.method, r.path) for r in legacy.requests] == [("GET", "/api/charts/3?x=1")]
    line = last_log(tmp_path)
    assert (line["upstream"], line["reason"], line["fallback_from"]) == (
        "legacy",
        "fallback",
        "charts",
    )
    assert (line["status"], line["error"]) == (200, "upstream_refused")


@pytest.mark.anyio
async def test_a_write_the_service_cannot_take_is_never_sent_to_legacy(proxy, legacy, tmp_path):
    flow = await through(proxy, legacy, b"POST", b"/api/charts/3")
    assert flow.response is not None
    assert flow.response.status_code == 502
    assert legacy.requests == []
    line = last_log(tmp_path)
    assert (line["upstream"], line["status"], line["error"]) == ("charts", 502, "upstream_refused")
    assert "fallback_from" not in line


@pytest.mark.anyio
async def test_upstream_failures_are_the_service_sides_errors_in_route_stats(proxy, legacy):
    addon, _forwarder = proxy
    await through(proxy, legacy, b"GET", b"/api/charts/3")  # answered by legacy in the end
    await through(proxy, legacy, b"POST", b"/api/charts/3")
    assert service_counts(addon) == {("GET", "service"): (1, 1), ("POST", "service"): (1, 1)}
