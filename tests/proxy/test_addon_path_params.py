"""`;` path parameters are refused after routing, unless the route's plan allows them.

Two plans on mitmproxy's own test harness: `notes` sets `allow_path_params: true` (a legacy
app with `;jsessionid` URLs), `charts` does not. The path is matched without its parameters (as
a Tomcat-style server reads it) and, where allowed, forwarded with them; everywhere else, and
on the legacy default route, an outsider's `;` gets a 400 with the reason, logged with its route.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from mitmproxy import http
from mitmproxy.test import taddons, tflow, tutils

from tests.proxy.hooks import FicusChain, finished

KEY = "an-identity-key-for-tests-only-0123456789"
NOTES = ("127.0.0.1", 18111)
CHARTS = ("127.0.0.1", 18112)
PLAN = """\
feature: {name}
owner: Test
upstream:
  name: {name}
  instances: [http://{host}:{port}]
legacy_tables: []
trailing_slash: match
{extra}routes:
  - method: GET
    path: /api/{name}/{{id:int}}
    phase: migrated
"""


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture
async def ficus(tmp_path):
    plans = tmp_path / "plans"
    plans.mkdir()
    (plans / "notes.yaml").write_text(
        PLAN.format(name="notes", host=NOTES[0], port=NOTES[1], extra="allow_path_params: true\n")
    )
    (plans / "charts.yaml").write_text(
        PLAN.format(name="charts", host=CHARTS[0], port=CHARTS[1], extra="")
    )
    addon = FicusChain()
    with taddons.context(addon) as tctx:
        tctx.configure(
            addon,
            ficus_plans=str(plans),
            ficus_legacy_db=f"sqlite:///{tmp_path / 'legacy.sqlite3'}",
            ficus_access_log=str(tmp_path / "access.log"),
            ficus_identity_key=KEY,
            ficus_control_db="",
        )
        try:
            yield addon
        finally:
            closing = addon.done()
            if closing is not None:
                await closing


def flow_for(path: bytes) -> http.HTTPFlow:
    request = tutils.treq(method=b"GET", path=path, headers=http.Headers([(b"Host", b"h:8000")]))
    request.data.host, request.data.port = "legacy.internal", 8001
    return tflow.tflow(req=request)


async def answered(addon: FicusChain, flow: http.HTTPFlow) -> http.HTTPFlow:
    await finished(addon.request(flow))
    if flow.response is None:
        flow.response = tutils.tresp(status_code=200, content=b"{}")
    await finished(addon.response(flow))
    return flow


def last_log(tmp_path) -> Any:
    return json.loads((tmp_path / "access.log").read_text().splitlines()[-1])


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("target", "forwarded"),
    [
        (b"/api/notes/7;jsessionid=A1B2", "/api/notes/7;jsessionid=A1B2"),
        (b"/api/notes;v=2/7?q=1", "/api/notes;v=2/7?q=1"),
        (b"/api/notes/%37;a=%41;b", "/api/notes/7;a=A;b"),  # canonical, parameters too
        (b"/api/notes/7/;x", "/api/notes/7"),  # a `match` trailing slash, its empty segment gone
        (b"/api/notes/7;x/", "/api/notes/7;x"),
    ],
)
async def test_a_plan_that_allows_path_params_gets_them_matched_and_forwarded(
    ficus, tmp_path, target, forwarded
):
    flow = await answered(ficus, flow_for(target))
    assert (flow.request.host, flow.request.port) == NOTES
    assert flow.request.path == forwarded
    assert flow.response is not None
    assert flow.response.status_code == 200
    line = last_log(tmp_path)
    assert (line["route"], line["upstream"]) == ("/api/notes/{id:int}", "notes")
    assert "error" not in line


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("target", "route"),
    [
        (b"/api/charts/7;jsessionid=A1B2", "/api/charts/{id:int}"),  # a plan that does not allow
        (b"/api/charts;x/7", "/api/charts/{id:int}"),
        (b"/api/visits/3;jsessionid=A1B2", "/**"),  # the legacy default route allows none
        (b"/api/notes-archive;x", "/**"),
    ],
)
async def test_an_outsiders_path_params_elsewhere_get_a_400_after_routing(
    ficus, tmp_path, target, route
):
    flow = await answered(ficus, flow_for(target))
    assert flow.response is not None
    assert flow.response.status_code == 400
    assert b"';' PATH PARAMETERS ARE NOT ALLOWED ON THIS ROUTE" in (flow.response.content or b"")
    assert (flow.request.host, flow.request.port) == ("legacy.internal", 8001)  # not re-pointed
    line = last_log(tmp_path)
    assert (line["status"], line["error"], line["route"]) == (400, "bad_request", route)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("target", "reason"),
    [
        (b"/api/notes/..;x/7", "dot segments"),  # Tomcat reads `..;x` as `..`
        (b"/api/notes/7;x%2Fy", "encoded slashes"),
        (b"/api/notes/7;x%00", "NUL"),
        (b"/api/notes;x//7", "empty path segments"),
    ],
)
async def test_allowed_path_params_keep_every_other_refusal(ficus, target, reason):
    flow = await answered(ficus, flow_for(target))
    assert flow.response is not None
    assert flow.response.status_code == 400
    assert reason.upper() in (flow.response.text or "")
