"""The addon's cohort lookup, hot-reloaded states, trailing slash and stats, on mitmproxy's own
test harness with a real control-plane SQLite file and real legacy sessions."""

from __future__ import annotations

import pytest
from mitmproxy import exceptions, http
from mitmproxy.test import taddons, tflow, tutils

from proxy.addon import FicusAddon
from proxy.routing import Reason, cohort_bucket
from tests.proxy.control_db import ddl_control_db, set_state
from tests.proxy.hooks import finished

KEY = "an-identity-key-for-tests-only-0123456789"
SERVICE = ("127.0.0.1", 18102)
PLAN = f"""\
feature: patients
owner: Test
upstream:
  name: patients
  instances: [http://{SERVICE[0]}:{SERVICE[1]}]
legacy_tables: []
trailing_slash: match
routes:
  - method: GET
    path: /api/patients/{{id:int}}
    phase: legacy
"""
WARD_PLAN = """\
feature: wards
owner: Test
upstream:
  name: wards
  instances: [http://127.0.0.1:18103]
legacy_tables: []
cohort: {key: query, name: ward}
routes:
  - method: GET
    path: /api/wards/beds
    phase: legacy
"""
SESSIONS = [f"{i:032x}" for i in range(1, 120)]


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture
def control(tmp_path):
    url = ddl_control_db(tmp_path / "control.sqlite3")
    set_state(url, "patients", "GET", "/api/patients/{id:int}", "canary", 50)
    set_state(url, "wards", "GET", "/api/wards/beds", "canary", 50)
    return url


@pytest.fixture
async def ficus(tmp_path, control):
    plans = tmp_path / "plans"
    plans.mkdir()
    (plans / "patients.yaml").write_text(PLAN)
    (plans / "wards.yaml").write_text(WARD_PLAN)
    addon = FicusAddon()
    with taddons.context(addon) as tctx:
        tctx.configure(
            addon,
            ficus_plans=str(plans),
            ficus_legacy_db=f"sqlite:///{tmp_path / 'legacy.sqlite3'}",
            ficus_access_log=str(tmp_path / "access.log"),
            ficus_identity_key=KEY,
            ficus_control_db=control,
        )
        try:
            yield addon
        finally:
            closing = addon.done()
            if closing is not None:
                await closing


def flow_for(path: bytes, *headers: tuple[bytes, bytes]) -> http.HTTPFlow:
    request = tutils.treq(
        method=b"GET", path=path, headers=http.Headers([(b"Host", b"h:8000"), *headers])
    )
    request.data.host, request.data.port = "legacy.internal", 8001
    return tflow.tflow(req=request)


def served_by_service(flow: http.HTTPFlow) -> bool:
    return (flow.request.host, flow.request.port) == SERVICE


@pytest.mark.anyio
async def test_a_clinicians_session_decides_the_side_the_same_way_every_time(ficus):
    for session in SESSIONS:
        sides = set()
        for _ in range(2):
            flow = flow_for(b"/api/patients/9", (b"Cookie", f"SESSID={session}".encode()))
            await finished(ficus.request(flow))
            sides.add(served_by_service(flow))
        assert sides == {cohort_bucket("patients", session) < 5000}


@pytest.mark.anyio
async def test_an_outsider_with_two_different_sessions_gets_legacy(ficus):
    on_service = next(s for s in SESSIONS if cohort_bucket("patients", s) < 5000)
    other = next(s for s in SESSIONS if s != on_service)
    flow = flow_for(
        b"/api/patients/9", (b"Cookie", f"SESSID={on_service}; SESSID={other}".encode())
    )
    await finished(ficus.request(flow))
    assert not served_by_service(flow)
    assert flow.metadata["ficus"].decision.reason is Reason.NO_COHORT


@pytest.mark.anyio
async def test_a_query_cohort_comes_from_the_query(ficus):
    for ward in ("A1", "B2", "C3", "D4", "E5", "F6", "G7", "H8"):
        flow = flow_for(f"/api/wards/beds?ward={ward}".encode())
        await finished(ficus.request(flow))
        decision = flow.metadata["ficus"].decision
        assert decision.to_legacy is not (cohort_bucket("wards", ward) < 5000)
        assert decision.reason is Reason.COHORT


@pytest.mark.anyio
async def test_a_match_trailing_slash_is_forwarded_without_it(ficus, control):
    set_state(control, "patients", "GET", "/api/patients/{id:int}", "migrated")
    ficus._control.poll_once()  # what the poller thread does every 0.2 s
    flow = flow_for(b"/api/patients/9/?x=1")
    await finished(ficus.request(flow))
    assert served_by_service(flow)
    assert flow.request.path == "/api/patients/9?x=1"
    assert flow.metadata["ficus"].decision.template == "/api/patients/{id:int}"


@pytest.mark.anyio
async def test_answers_are_counted_per_route_and_side(ficus, control):
    set_state(control, "patients", "GET", "/api/patients/{id:int}", "migrated")
    ficus._control.poll_once()
    for status in (200, 503):
        flow = flow_for(b"/api/patients/9")
        await finished(ficus.request(flow))
        flow.response = tutils.tresp(status_code=status)
        await finished(ficus.response(flow))
    unmatched = flow_for(b"/elsewhere")
    await finished(ficus.request(unmatched))
    unmatched.response = tutils.tresp(status_code=200)
    await finished(ficus.response(unmatched))
    counted = {(k[1], k[3], k[4]): (c.requests, c.errors) for k, c in ficus.stats.take().items()}
    assert counted[("patients", "/api/patients/{id:int}", "service")] == (2, 1)
    assert counted[("legacy", "/**", "legacy")] == (1, 0)


@pytest.mark.anyio
async def test_a_control_db_url_it_cannot_use_is_refused(tmp_path):
    addon = FicusAddon()
    with (
        taddons.context(addon) as tctx,
        pytest.raises(exceptions.OptionsError, match="ficus_control_db"),
    ):
        tctx.configure(addon, ficus_control_db="::not a url::")
