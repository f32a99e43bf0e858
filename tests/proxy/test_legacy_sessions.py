"""Pluggable legacy sessions through the addon chain: each kind a plan can declare, resolved
against a real legacy app on loopback (tests/support/login_legacy.py), the session table of a
real SQLite legacy database, the cache on an injected clock, and no credential in any log.

The clinician is a legacy user with a live credential; the outsider holds a wrong, forged or
revoked one and must be forwarded with no identity (the service then answers the legacy 401).
"""

from __future__ import annotations

import asyncio
import base64
import logging
import threading
from collections.abc import Iterator

import pytest
from mitmproxy import http
from mitmproxy.test import taddons, tflow, tutils

from domain.identity import IDENTITY_HEADER
from proxy.flow_state import FlowState, state_of
from tests.proxy.hooks import FicusChain, finished
from tests.proxy.personas import seed_sessions
from tests.proxy.test_addon import CHARTS, KEY, SERVICE, identity_of
from tests.proxy.test_ttl_cache import Clock
from tests.support.login_legacy import LoginLegacy, basic, login_legacy, trytond_session

WHOAMI = "  whoami: {path: /whoami, user_id: user.id, login: user.login, role: user.role}\n"
KINDS = {
    "basic": "legacy_session:\n  credential: basic\n" + WHOAMI,
    "trytond": (
        "legacy_session:\n  credential: trytond_session\n  whoami:\n    path: /hospital/\n"
        "    method: POST\n"
        '    body: \'{"method": "model.res.user.get_preferences", "params": [true, {}]}\'\n'
        "    user_id: result.id\n    login: result.login\n    role: result.role\n"
    ),
    "cookie_whoami": "legacy_session:\n  credential: cookie\n  name: LEGACY_SID\n"
    "  resolve: whoami\n" + WHOAMI,
    "header_whoami": "legacy_session:\n  credential: header\n  name: X-Legacy-Session\n"
    "  resolve: whoami\n" + WHOAMI,
    "header_table": "legacy_session:\n  credential: header\n  name: X-Legacy-Session\n",
    "slow": "legacy_session:\n  credential: basic\n"
    "  whoami: {path: /whoami, user_id: user.id, login: user.login, role: user.role,"
    " timeout_seconds: 0.2}\n",
    "one_at_a_time": "legacy_session:\n  credential: basic\n"
    "  whoami: {path: /whoami, user_id: user.id, login: user.login, role: user.role,"
    " timeout_seconds: 5, max_in_flight: 1}\n",
}


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture
def legacy() -> Iterator[LoginLegacy]:
    with login_legacy() as app:
        yield app


@pytest.fixture
async def chain(request, tmp_path, legacy_database_url, legacy, caplog):
    """The addon chain configured with the plan for the test's kind (its `kind` mark)."""
    clock = Clock()
    directory = tmp_path / "plans"
    directory.mkdir()
    (directory / "charts.yaml").write_text(CHARTS + KINDS[request.param])
    addon = FicusChain(clock=clock)
    addon.clock = clock  # type: ignore[attr-defined]  # for the tests that move time
    caplog.set_level(logging.DEBUG)
    with taddons.context(addon) as tctx:
        tctx.configure(
            addon,
            ficus_plans=str(directory),
            ficus_legacy_db=legacy_database_url,
            ficus_access_log=str(tmp_path / "access.log"),
            ficus_identity_key=KEY,
            ficus_control_db="",
        )
        try:
            yield addon
        finally:
            await finished(addon.done())
            await asyncio.sleep(0)  # closed connections finish closing on the loop


def chart_flow(legacy: LoginLegacy, *headers: tuple[str, str]) -> http.HTTPFlow:
    request = tutils.treq(
        method=b"GET",
        path=b"/api/charts/7",
        headers=http.Headers(
            [(b"Host", b"hospital.example:8000")] + [(k.encode(), v.encode()) for k, v in headers]
        ),
        content=b"",
    )
    request.data.host, request.data.port = "127.0.0.1", legacy.port  # the reverse-mode target
    return tflow.tflow(req=request)


async def ask(chain: FicusChain, legacy: LoginLegacy, *headers: tuple[str, str]) -> http.HTTPFlow:
    flow = chart_flow(legacy, *headers)
    await finished(chain.request(flow))
    return flow


def flow_state(flow: http.HTTPFlow) -> FlowState:
    state = state_of(flow)
    assert state is not None
    return state


def signed_login(flow: http.HTTPFlow) -> str | None:
    token = flow.request.headers.get(IDENTITY_HEADER)
    return None if token is None else identity_of(flow.request, token).login


def kind(name: str) -> pytest.MarkDecorator:
    return pytest.mark.parametrize("chain", [name], indirect=True)


@pytest.mark.anyio
@kind("basic")
async def test_basic_credentials_become_the_identity_legacy_says(chain, legacy, caplog, tmp_path):
    clinician = legacy.add("clinician")
    flow = await ask(chain, legacy, ("Authorization", basic(clinician)))
    assert signed_login(flow) == "clinician"
    assert identity_of(flow.request, flow.request.headers[IDENTITY_HEADER]).role == "CLIN"
    # The session key is a keyed hash: neither the password nor the header is held.
    key = flow_state(flow).session_id
    assert key
    assert clinician.password not in key
    assert basic(clinician) not in key
    # Who-am-I got the credential's own header and nothing else of the client's.
    asked = legacy.received[-1]
    assert asked["path"] == "/whoami"
    assert asked["authorization"] == basic(clinician)
    assert "cookie" not in asked
    secrets_ = (clinician.password, basic(clinician).split()[1])
    flow.response = tutils.tresp(status_code=200)
    await finished(chain.response(flow))
    logged = caplog.text + (tmp_path / "access.log").read_text()
    assert '"status":200' in logged
    assert not any(s in logged for s in secrets_)
    assert clinician.password not in repr(flow_state(flow))


@pytest.mark.anyio
@kind("basic")
@pytest.mark.parametrize("credential", ["wrong-password", "unknown-user", "not-basic", "garbled"])
async def test_an_outsiders_basic_credentials_get_no_identity(chain, legacy, credential):
    clinician = legacy.add("clinician")
    value = {
        "wrong-password": basic(clinician, "guess"),
        "unknown-user": "Basic " + base64.b64encode(b"outsider:pw").decode(),
        "not-basic": "Bearer abc",
        "garbled": "Basic !!!",
    }[credential]
    flow = await ask(chain, legacy, ("Authorization", value))
    assert (flow.request.host, flow.request.port) == SERVICE  # the service answers its 401
    assert IDENTITY_HEADER not in flow.request.headers
    assert flow.response is None


@pytest.mark.anyio
@kind("trytond")
async def test_trytonds_session_header_is_resolved_by_its_json_rpc(chain, legacy):
    clinician = legacy.add("clinician")
    flow = await ask(chain, legacy, ("Authorization", trytond_session(clinician)))
    assert signed_login(flow) == "clinician"
    assert legacy.received[-1]["path"] == "/hospital/"
    assert legacy.received[-1]["content-type"] == "application/json"
    # A session claimed for another user id is not that user's session.
    forged = await ask(chain, legacy, ("Authorization", trytond_session(clinician, 1)))
    assert IDENTITY_HEADER not in forged.request.headers


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("chain", "header"),
    [("cookie_whoami", "Cookie"), ("header_whoami", "X-Legacy-Session")],
    indirect=["chain"],
)
async def test_a_named_cookie_or_header_is_resolved_by_whoami(chain, legacy, header):
    clinician = legacy.add("clinician")
    value = (
        f"theme=dark; LEGACY_SID={clinician.session}" if header == "Cookie" else clinician.session
    )
    flow = await ask(chain, legacy, (header, value))
    assert signed_login(flow) == "clinician"
    assert flow_state(flow).session_id == clinician.session  # the cohort's and the pins' key


@pytest.mark.anyio
@kind("header_table")
async def test_a_named_header_can_name_a_session_of_the_session_table(
    chain, legacy, legacy_database_url
):
    sessions = seed_sessions(legacy_database_url)
    flow = await ask(chain, legacy, ("X-Legacy-Session", sessions["clinician"]))
    assert signed_login(flow) == "clinician"
    twice = await ask(
        chain, legacy, ("X-Legacy-Session", sessions["clinician"]), ("X-Legacy-Session", "x")
    )
    assert IDENTITY_HEADER not in twice.request.headers  # two different values: no session


@pytest.mark.anyio
@kind("basic")
async def test_a_revoked_credential_is_refused_once_half_a_second_has_passed(chain, legacy):
    clinician = legacy.add("clinician")
    header = ("Authorization", basic(clinician))
    assert signed_login(await ask(chain, legacy, header)) == "clinician"
    legacy.revoke("clinician")  # who-am-I answers 401 from now on
    chain.clock.now += 0.49
    assert signed_login(await ask(chain, legacy, header)) == "clinician"  # still cached
    chain.clock.now += 0.01
    assert signed_login(await ask(chain, legacy, header)) is None


@pytest.mark.anyio
@kind("basic")
async def test_refusals_are_not_remembered(chain, legacy):
    clinician = legacy.add("clinician")
    header = ("Authorization", basic(clinician))
    legacy.revoke("clinician")
    assert signed_login(await ask(chain, legacy, header)) is None
    legacy.users["clinician"] = clinician  # logged in again, same credentials
    assert signed_login(await ask(chain, legacy, header)) == "clinician"


@pytest.mark.anyio
@kind("basic")
async def test_a_failing_whoami_answers_503_rather_than_a_logout(chain, legacy):
    clinician = legacy.add("clinician")
    legacy.fail_whoami = True
    flow = await ask(chain, legacy, ("Authorization", basic(clinician)))
    assert flow.response is not None
    assert flow.response.status_code == 503
    assert flow_state(flow).error == "whoami_unavailable"


@pytest.mark.anyio
@kind("slow")
async def test_a_whoami_past_its_deadline_answers_503(chain, legacy):
    clinician = legacy.add("clinician")
    legacy.hang_whoami = threading.Event()
    flow = await ask(chain, legacy, ("Authorization", basic(clinician)))
    assert flow.response is not None
    assert flow.response.status_code == 503
    assert flow_state(flow).error == "whoami_timeout"


@pytest.mark.anyio
@kind("one_at_a_time")
async def test_whoami_calls_in_flight_are_bounded(chain, legacy):
    clinician, nurse = legacy.add("clinician"), legacy.add("nurse")
    release = legacy.hang_whoami = threading.Event()
    both = asyncio.gather(
        ask(chain, legacy, ("Authorization", basic(clinician))),
        ask(chain, legacy, ("Authorization", basic(nurse))),
    )
    # The first call is at legacy, and is held there.
    assert await asyncio.to_thread(legacy.asked.wait, 30)
    await asyncio.sleep(0.2)  # time for the second to try
    # One call reached legacy; the other waits for its slot.
    assert [r["path"] for r in legacy.received] == ["/whoami"]
    release.set()
    flows = await both
    assert [signed_login(f) for f in flows] == ["clinician", "nurse"]
    assert len(legacy.received) == 2
