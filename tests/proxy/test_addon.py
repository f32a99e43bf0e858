"""The addon on mitmproxy's own test harness: real flows through real hooks, no mocks.

A real SQLite legacy database holds the personas' sessions; the plan directory holds the
appointments plan and a `charts` plan with writes in `migrated` and `legacy`, a `retired` read
and pinning turned off; the identity header is checked with the services' own
`verify_identity`. The service's answers are set on the flow, as mitmproxy would after
forwarding it; when the addon falls back, it asks a real recording backend on loopback.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from mitmproxy import exceptions, http
from mitmproxy.proxy.layers.http import _http1, _http2
from mitmproxy.test import taddons, tflow, tutils
from sqlalchemy import create_engine, delete

from domain.identity import (
    IDENTITY_HEADER,
    Identity,
    InvalidIdentityError,
    binding_for_target,
    verify_identity,
)
from legacy_adapter.schema import UserSession
from proxy import addon as addon_module
from proxy.addon import ficus_addons
from proxy.mitm_patches.error_pages import error_body
from proxy.router import set_host
from tests.domain.test_plans import GOOD
from tests.proxy.hooks import FicusChain, finished
from tests.proxy.personas import USER_IDS, seed_sessions
from tests.proxy.test_ttl_cache import Clock
from tests.support.backends import RecordingBackend, recording_backend
from tests.support.ports import free_port

KEY = "an-identity-key-for-tests-only-0123456789"
SERVICE = ("127.0.0.1", 18101)
# The appointments plan as shipped: every route of the feature, writes still on legacy.
APPOINTMENTS = (
    GOOD
    + """\
  - method: GET
    path: /api/appointments
    phase: legacy
  - method: POST
    path: /api/appointments
    phase: legacy
  - method: PUT
    path: /api/appointments/{id:int}
    phase: legacy
  - method: POST
    path: /api/appointments/{id:int}/cancel
    phase: legacy
"""
)
CHARTS = f"""\
feature: charts
owner: Test
upstream:
  name: charts
  instances: [http://{SERVICE[0]}:{SERVICE[1]}]
legacy_tables: []
pin_reads_after_write_seconds: 0
routes:
  - method: GET
    path: /api/charts/{{id:int}}
    phase: migrated
  - method: POST
    path: /api/charts/{{id:int}}
    phase: migrated
  - method: POST
    path: /api/charts
    phase: legacy
  - method: GET
    path: /api/charts/{{id:int}}/archive
    phase: retired
"""


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture
def plans_dir(tmp_path, monkeypatch):
    directory = tmp_path / "plans"
    directory.mkdir()
    (directory / "appointments.yaml").write_text(APPOINTMENTS)
    (directory / "charts.yaml").write_text(CHARTS)
    monkeypatch.setenv("FICUS_UPSTREAM_APPOINTMENTS", f"http://{SERVICE[0]}:{SERVICE[1]}")
    return directory


@pytest.fixture
def sessions(legacy_database_url) -> dict[str, str]:
    return seed_sessions(legacy_database_url)


@pytest.fixture
def access_log(tmp_path):
    return tmp_path / "access.log"


@pytest.fixture
def configured(plans_dir, legacy_database_url, access_log, sessions):
    """Options for a fully configured addon (sessions are seeded first)."""
    return {
        "ficus_plans": str(plans_dir),
        "ficus_legacy_db": legacy_database_url,
        "ficus_access_log": str(access_log),
        "ficus_identity_key": KEY,
        # Plan-file phases only, whatever FICUS_DB_DEFAULT_URL the environment may hold.
        "ficus_control_db": "",
    }


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
async def ficus(configured, clock):
    """A configured addon inside mitmproxy's test context, on the test's event loop."""
    addon = FicusChain(clock=clock)
    with taddons.context(addon) as tctx:
        tctx.configure(addon, **configured)
        try:
            yield addon
        finally:
            # Closes the access log, the engine and the fallback's client, as mitmproxy's
            # `done` would (it awaits what `done` returns).
            closing = addon.done()
            if closing is not None:
                await closing


@pytest.fixture
def legacy():
    """A real legacy stand-in on loopback, for the fallback's second try."""
    with recording_backend("legacy") as backend:
        yield backend


def identity_of(request: http.Request, token: str, key: str = KEY) -> Identity:
    """The token verified as the service verifies it, against the request as forwarded."""
    return verify_identity(
        token,
        key.encode(),
        time.time(),
        binding=binding_for_target(request.method, request.data.path),
        request_id=request.headers["X-Ficus-Request-Id"],
    )


def make_flow(
    path: bytes = b"/api/appointments/7",
    *,
    method: bytes = b"GET",
    headers: list[tuple[bytes, bytes]] | None = None,
    content: bytes = b"",
    legacy: RecordingBackend | None = None,
) -> http.HTTPFlow:
    request = tutils.treq(
        method=method,
        path=path,
        headers=http.Headers([(b"Host", b"hospital.example:8000"), *(headers or [])]),
        content=content,
    )
    # The reverse-mode target: mitmproxy points every flow at the legacy app before hooks run,
    # and (keep_host_header) leaves the client's Host header alone.
    request.data.host, request.data.port = "legacy.internal", 8001
    if legacy is not None:
        request.data.host, request.data.port = "127.0.0.1", legacy.port
    return tflow.tflow(req=request)


def session_cookie(session_id: str) -> tuple[bytes, bytes]:
    return (b"Cookie", f"theme=dark; SESSID={session_id}".encode())


async def run_request(addon: FicusChain, flow: http.HTTPFlow) -> http.HTTPFlow:
    await finished(addon.request(flow))
    return flow


async def exchange(
    addon: FicusChain,
    flow: http.HTTPFlow,
    status: int = 200,
    content: bytes = b'{"RESULT": "OK"}',
) -> http.HTTPFlow:
    """The request hook, then the upstream's answer as mitmproxy would set it, then the
    response hook (unless the addon answered the request itself)."""
    await finished(addon.request(flow))
    if flow.response is None:
        flow.response = tutils.tresp(status_code=status, content=content)
    await finished(addon.response(flow))
    return flow


def served_by_service(flow: http.HTTPFlow) -> bool:
    return (flow.request.host, flow.request.port) == SERVICE


def log_lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.anyio
async def test_a_migrated_route_goes_to_its_service_with_the_canonical_path(ficus):
    flow = await run_request(ficus, make_flow(b"/api/appointments/%37?prov=3&x=%2F"))
    request = flow.request
    assert (request.scheme, request.host, request.port) == ("http", *SERVICE)
    assert request.path == "/api/appointments/7?prov=3&x=%2F"  # the query is untouched
    assert request.headers["Host"] == f"{SERVICE[0]}:{SERVICE[1]}"
    assert flow.response is None


@pytest.mark.anyio
async def test_unrouted_requests_stay_on_legacy_without_an_identity(ficus, sessions):
    flow = await run_request(
        ficus, make_flow(b"/api/patients/3", headers=[session_cookie(sessions["clinician"])])
    )
    assert (flow.request.host, flow.request.port) == ("legacy.internal", 8001)
    # The client's Host, as received (proxy.host_header): legacy checks Origin against it.
    assert flow.request.headers["Host"] == "hospital.example:8000"
    assert IDENTITY_HEADER not in flow.request.headers


@pytest.mark.anyio
async def test_forwarding_headers_are_the_proxys_own(ficus):
    forged = [
        (b"X-Forwarded-For", b"10.9.9.9"),
        (b"X-Forwarded-Host", b"evil.example"),
        (b"X-Forwarded-Proto", b"https"),
        (b"Forwarded", b"for=10.9.9.9"),
    ]
    flow = await run_request(ficus, make_flow(headers=forged))
    headers = flow.request.headers
    assert headers.get_all("X-Forwarded-For") == ["127.0.0.1"]
    assert headers.get_all("X-Forwarded-Host") == ["hospital.example:8000"]
    assert headers.get_all("X-Forwarded-Proto") == ["http"]
    assert "Forwarded" not in headers
    assert len(headers["X-Ficus-Request-Id"]) == 32


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("persona", "role"), [("clinician", "CLIN"), ("operator", "OPER"), ("auditor", "AUDIT")]
)
async def test_a_live_session_becomes_a_signed_identity(ficus, sessions, persona, role):
    flow = await run_request(ficus, make_flow(headers=[session_cookie(sessions[persona])]))
    headers = flow.request.headers
    identity = identity_of(flow.request, headers[IDENTITY_HEADER])
    assert (identity.user_id, identity.login, identity.role) == (USER_IDS[persona], persona, role)
    assert identity.request_id == headers["X-Ficus-Request-Id"]
    # Short-lived: a minute at most, however long the legacy session still has.
    assert identity.expires_at <= time.time() + 61


@pytest.mark.anyio
@pytest.mark.parametrize(
    "cookie",
    [
        None,
        "SESSID=forged-0000",
        "SESSID=",
        "expired",
        "SESSID_=x",
        # Legacy splits on ";" only: this is one SESSID, "<clinician>, SESSID=<operator>".
        "SESSID={clinician}, SESSID={operator}",
        "two-cookie-headers",
    ],
)
async def test_an_outsider_gets_no_identity(ficus, sessions, cookie):
    if cookie == "expired":
        cookie = f"SESSID={sessions['expired']}"
    headers = [(b"Cookie", cookie.format(**sessions).encode())] if cookie else []
    if cookie == "two-cookie-headers":
        # gunicorn joins them with "," for the legacy app: the same single, unknown SESSID.
        headers = [session_cookie(sessions["clinician"]), session_cookie(sessions["operator"])]
    flow = await run_request(ficus, make_flow(headers=headers))
    # Still forwarded to the service, which answers the legacy 401 itself.
    assert (flow.request.host, flow.request.port) == SERVICE
    assert IDENTITY_HEADER not in flow.request.headers
    assert flow.response is None


@pytest.mark.anyio
@pytest.mark.parametrize(
    "cookie",
    [
        "SESSID={clinician}; SESSID={operator}",
        "SESSID= {clinician} ",
        'theme=dark;SESSID="{clinician}"',
    ],
    ids=["two-sessions", "blanks-around-the-value", "quoted"],
)
async def test_the_session_is_read_from_the_cookie_as_legacy_reads_it(ficus, sessions, cookie):
    # demo/legacy/http.py: the first SESSID wins, blanks and quotes around it are dropped.
    headers = [(b"Cookie", cookie.format(**sessions).encode())]
    flow = await run_request(ficus, make_flow(headers=headers))
    assert identity_of(flow.request, flow.request.headers[IDENTITY_HEADER]).login == "clinician"


@pytest.mark.anyio
async def test_client_ficus_headers_never_pass_even_with_a_session(ficus, sessions):
    forged_headers = [
        (b"X-Ficus-Identity", b"v1.forged.forged"),
        (b"x-ficus-request-id", b"chosen-by-client"),
        (b"X-FICUS-DRY-RUN", b"1"),
    ]
    outsider = await run_request(ficus, make_flow(headers=forged_headers))
    clinician = await run_request(
        ficus, make_flow(headers=[*forged_headers, session_cookie(sessions["clinician"])])
    )
    legacy = await run_request(ficus, make_flow(b"/login", headers=forged_headers))
    for flow in (outsider, legacy):
        assert IDENTITY_HEADER not in flow.request.headers
    for flow in (outsider, clinician, legacy):
        assert "X-Ficus-Dry-Run" not in flow.request.headers
        assert flow.request.headers.get_all("X-Ficus-Request-Id") != ["chosen-by-client"]
    (identity,) = clinician.request.headers.get_all(IDENTITY_HEADER)
    identity_of(clinician.request, identity)
    with pytest.raises(InvalidIdentityError):
        identity_of(clinician.request, "v1.forged.forged")


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("path", "reason"),
    [
        (b"/api/appointments%2F7", b"encoded slashes"),
        (b"/api/x/../appointments/7", b"dot segments"),
        (b"/api/appointments/7%00", b"NUL"),
        (b"/api/appointments/%C0%AF", b"not valid UTF-8"),
        (b"/api/appointments/7;jsessionid=x", b"path parameters"),
        (b"/api\\appointments/7", b"backslashes"),
    ],
)
async def test_ambiguous_paths_get_a_400_with_the_reason(ficus, path, reason):
    flow = await run_request(ficus, make_flow(path))
    assert flow.response is not None
    assert flow.response.status_code == 400
    # The legacy error shape on /api: the reason in ERR, in upper case as legacy writes it.
    assert reason.upper() in (flow.response.content or b"").upper()
    assert (flow.request.host, flow.request.port) == ("legacy.internal", 8001)


@pytest.mark.anyio
async def test_a_lower_case_method_is_refused_rather_than_guessed(ficus):
    flow = await run_request(ficus, make_flow(method=b"get"))
    assert flow.response is not None
    assert flow.response.status_code == 400


@pytest.mark.anyio
async def test_hop_by_hop_headers_are_stripped_and_close_is_kept(ficus):
    hop = [
        (b"Connection", b"close, X-Hop-Secret"),
        (b"X-Hop-Secret", b"1"),
        (b"Keep-Alive", b"timeout=5"),
        (b"TE", b"trailers"),
        (b"Upgrade", b"h2c"),
        (b"Proxy-Authorization", b"Basic eDp5"),
        (b"Proxy-Connection", b"keep-alive"),
    ]
    flow = await run_request(ficus, make_flow(headers=hop))
    headers = flow.request.headers
    for name in ("X-Hop-Secret", "Keep-Alive", "TE", "Upgrade", "Proxy-Authorization"):
        assert name not in headers, name
    assert "Proxy-Connection" not in headers
    assert headers.get_all("Connection") == ["close"]


@pytest.mark.anyio
async def test_a_chunked_body_is_reframed_with_a_content_length(ficus):
    flow = make_flow(
        b"/api/appointments",
        method=b"POST",
        headers=[(b"Transfer-Encoding", b"chunked")],
        content=b'{"PAT_ID": 1}',
    )
    await run_request(ficus, flow)
    assert "Transfer-Encoding" not in flow.request.headers
    assert flow.request.headers["Content-Length"] == str(len(b'{"PAT_ID": 1}'))
    assert flow.request.raw_content == b'{"PAT_ID": 1}'


@pytest.mark.anyio
async def test_the_access_log_names_the_template_and_never_the_path(ficus, access_log, sessions):
    migrated = await run_request(
        ficus,
        make_flow(b"/api/appointments/7?q=DOE", headers=[session_cookie(sessions["clinician"])]),
    )
    migrated.response = tutils.tresp()
    await finished(ficus.response(migrated))
    legacy = await run_request(ficus, make_flow(b"/api/patients?q=SMITH,JOHN"))
    legacy.response = tutils.tresp()
    await finished(ficus.response(legacy))
    refused = await run_request(ficus, make_flow(b"/api/x/../patients?q=DOE"))
    await finished(ficus.response(refused))
    text = access_log.read_text()
    assert "DOE" not in text
    assert "SMITH" not in text
    assert "?" not in text
    first, second, third = log_lines(access_log)
    assert first["route"] == "/api/appointments/{id:int}"
    assert (first["feature"], first["upstream"], first["phase"]) == (
        "appointments",
        "appointments",
        "migrated",
    )
    assert (first["status"], first["reason"]) == (200, "route")
    assert "fallback_from" not in first
    assert first["request_id"] == migrated.request.headers["X-Ficus-Request-Id"]
    assert (second["route"], second["feature"], second["upstream"]) == ("/**", "legacy", "legacy")
    assert (third["status"], third["route"], third["error"]) == (400, "-", "bad_request")
    assert third["reason"] == "-"
    assert migrated.response.headers["X-Ficus-Request-Id"] == first["request_id"]


@pytest.mark.anyio
async def test_responses_lose_hop_by_hop_and_ficus_headers_but_keep_framing(ficus):
    flow = await run_request(ficus, make_flow())
    flow.response = tutils.tresp(
        headers=http.Headers(
            [
                (b"Connection", b"keep-alive, X-Internal"),
                (b"X-Internal", b"secret"),
                (b"Keep-Alive", b"timeout=5"),
                (b"Transfer-Encoding", b"chunked"),
                (b"X-Ficus-Identity", b"v1.leaked.leaked"),
            ]
        )
    )
    await finished(ficus.response(flow))
    headers = flow.response.headers
    assert "X-Internal" not in headers
    assert "Keep-Alive" not in headers
    assert IDENTITY_HEADER not in headers
    assert headers["Connection"] == "keep-alive, X-Internal"  # mitmproxy frames the hop with it
    assert headers["Transfer-Encoding"] == "chunked"


@pytest.mark.anyio
async def test_an_upstream_failure_is_logged_as_502(ficus, access_log):
    flow = await run_request(ficus, make_flow())
    flow.error = tflow.terr("Bad HTTP response line: b'PATIENT DOE'")
    ficus.error(flow)
    (line,) = log_lines(access_log)
    assert (line["status"], line["error"], line["upstream"]) == (
        502,
        "upstream_failed",
        "appointments",
    )
    assert "DOE" not in access_log.read_text()


@pytest.mark.anyio
async def test_a_client_leaving_after_its_answer_was_logged_adds_no_second_line(ficus, access_log):
    flow = await exchange(ficus, make_flow(b"/api/patients/3"))
    flow.error = tflow.terr("Client disconnected.")
    ficus.error(flow)
    (line,) = log_lines(access_log)
    assert (line["status"], line["route"]) == (200, "/**")
    assert "error" not in line


@pytest.mark.anyio
async def test_positive_session_lookups_are_cached_for_half_a_second(
    ficus, sessions, legacy_database_url, clock
):
    first = await run_request(ficus, make_flow(headers=[session_cookie(sessions["clinician"])]))
    engine = create_engine(legacy_database_url)
    with engine.begin() as conn:
        conn.execute(delete(UserSession))  # every session logged out
    engine.dispose()
    clock.now += 0.49
    cached = await run_request(ficus, make_flow(headers=[session_cookie(sessions["clinician"])]))
    uncached = await run_request(ficus, make_flow(headers=[session_cookie(sessions["operator"])]))
    clock.now += 0.01
    forgotten = await run_request(ficus, make_flow(headers=[session_cookie(sessions["clinician"])]))
    assert IDENTITY_HEADER in first.request.headers
    assert IDENTITY_HEADER in cached.request.headers
    assert IDENTITY_HEADER not in uncached.request.headers
    # Half a second after the lookup, the logout has reached the services.
    assert IDENTITY_HEADER not in forgotten.request.headers


@pytest.mark.anyio
async def test_an_unreachable_session_store_answers_503_not_401(configured, tmp_path, sessions):
    addon = FicusChain()
    options = {**configured, "ficus_legacy_db": f"sqlite:///{tmp_path / 'no-tables.sqlite3'}"}
    with taddons.context(addon) as tctx:
        tctx.configure(addon, **options)
        flow = await run_request(addon, make_flow(headers=[session_cookie(sessions["clinician"])]))
        addon.done()
    assert flow.response is not None
    assert flow.response.status_code == 503
    assert IDENTITY_HEADER not in flow.request.headers


@pytest.mark.anyio
async def test_the_key_falls_back_to_the_environment(configured, sessions, monkeypatch):
    env_key = "another-identity-key-from-the-environment"
    monkeypatch.setenv("FICUS_IDENTITY_KEY", env_key)
    addon = FicusChain()
    with taddons.context(addon) as tctx:
        tctx.configure(addon, **{**configured, "ficus_identity_key": ""})
        flow = await run_request(addon, make_flow(headers=[session_cookie(sessions["clinician"])]))
        addon.done()
    identity_of(flow.request, flow.request.headers[IDENTITY_HEADER], env_key)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"ficus_identity_key": "short"}, "at least 32 bytes"),
        ({"ficus_legacy_db": "not a url"}, "ficus_legacy_db"),
        ({"ficus_access_log": "/nonexistent-dir/access.log"}, "ficus_access_log"),
        ({"ficus_plans": "/nonexistent-dir"}, "is not a directory"),
    ],
)
async def test_bad_options_fail_fast(configured, monkeypatch, change, complaint):
    monkeypatch.delenv("FICUS_IDENTITY_KEY", raising=False)
    addon = FicusChain()
    with taddons.context(addon) as tctx:
        try:
            with pytest.raises(exceptions.OptionsError, match=complaint):
                tctx.configure(addon, **{**configured, **change})
        finally:
            addon.done()


@pytest.mark.anyio
async def test_a_bad_plan_fails_configuration_with_its_location(configured, plans_dir):
    (plans_dir / "appointments.yaml").write_text(GOOD.replace("{id:int}", "{id:integer}"))
    addon = FicusChain()
    with taddons.context(addon) as tctx:
        try:
            with pytest.raises(exceptions.OptionsError) as info:
                tctx.configure(addon, **configured)
        finally:
            addon.done()
    assert "appointments.yaml:10: routes[0].path:" in str(info.value)


@pytest.mark.anyio
async def test_loading_the_addon_makes_mitmproxys_error_pages_generic(configured):
    addon = FicusChain()
    with taddons.context(addon):
        assert _http1.format_error is error_body  # type: ignore[attr-defined]
        assert _http2.format_error is error_body  # type: ignore[attr-defined]
    page = error_body(502, "Bad HTTP response line: b'SSN 900-12-3456'")
    assert b"502 Bad Gateway" in page
    assert b"900-12-3456" not in page
    assert b"Bad HTTP" not in page
    # Client errors keep mitmproxy's reason: it is about the client's own request.
    assert b"Invalid header" in error_body(400, "Invalid header")
    assert b"mitmproxy" not in page


def test_the_module_exposes_its_addons_for_mitmdump_s():
    assert [type(a) for a in addon_module.addons] == [type(a) for a in ficus_addons()]
    # One runtime shared by all of them.
    assert len({id(a.runtime) for a in addon_module.addons if hasattr(a, "runtime")}) == 1


# Read-your-writes pinning ---------------------------------------------------------------------

WRITES = [
    (b"POST", b"/api/appointments"),
    (b"PUT", b"/api/appointments/7"),
    (b"POST", b"/api/appointments/7/cancel"),
]


@pytest.mark.anyio
@pytest.mark.parametrize(("method", "path"), WRITES)
async def test_a_clinicians_accepted_write_pins_their_reads_of_the_feature_to_legacy(
    ficus, sessions, access_log, method, path
):
    clinician = [session_cookie(sessions["clinician"])]
    write = await exchange(
        ficus, make_flow(path, method=method, headers=clinician, content=b"{}"), 200
    )
    assert (write.request.host, write.request.port) == ("legacy.internal", 8001)

    read = await run_request(ficus, make_flow(headers=clinician))
    assert (read.request.host, read.request.port) == ("legacy.internal", 8001)
    assert read.request.headers["Host"] == "hospital.example:8000"  # the client's
    # Legacy reads its own cookie; the identity bridge is for the services only.
    assert IDENTITY_HEADER not in read.request.headers
    read.response = tutils.tresp()
    await finished(ficus.response(read))
    line = log_lines(access_log)[-1]
    assert (line["route"], line["feature"], line["phase"]) == (
        "/api/appointments/{id:int}",
        "appointments",
        "migrated",
    )
    assert (line["upstream"], line["reason"]) == ("legacy", "pinned")
    # HEAD follows GET here too.
    head = await run_request(ficus, make_flow(method=b"HEAD", headers=clinician))
    assert (head.request.host, head.request.port) == ("legacy.internal", 8001)


@pytest.mark.anyio
@pytest.mark.parametrize("persona", ["auditor", "operator", None])
async def test_other_sessions_still_read_from_the_service(ficus, sessions, persona):
    clinician = [session_cookie(sessions["clinician"])]
    await exchange(ficus, make_flow(b"/api/appointments", method=b"POST", headers=clinician))
    other = [session_cookie(sessions[persona])] if persona else []
    read = await run_request(ficus, make_flow(headers=other))
    assert served_by_service(read)


@pytest.mark.anyio
@pytest.mark.parametrize("status", [400, 401, 403, 409, 500, 503])
async def test_a_write_legacy_refuses_or_fails_pins_nothing(ficus, sessions, status):
    clinician = [session_cookie(sessions["clinician"])]
    await exchange(
        ficus, make_flow(b"/api/appointments", method=b"POST", headers=clinician), status
    )
    assert len(ficus.pins) == 0
    assert served_by_service(await run_request(ficus, make_flow(headers=clinician)))


@pytest.mark.anyio
async def test_a_write_legacy_never_answered_pins_nothing(ficus, sessions):
    clinician = [session_cookie(sessions["clinician"])]
    flow = await run_request(
        ficus, make_flow(b"/api/appointments", method=b"POST", headers=clinician)
    )
    flow.error = tflow.terr("Server disconnected.")
    ficus.error(flow)
    assert served_by_service(await run_request(ficus, make_flow(headers=clinician)))


@pytest.mark.anyio
async def test_the_pin_expires_after_the_plans_window(ficus, sessions, clock):
    clinician = [session_cookie(sessions["clinician"])]
    await exchange(ficus, make_flow(b"/api/appointments", method=b"POST", headers=clinician))
    clock.now += 4.9
    assert not served_by_service(await run_request(ficus, make_flow(headers=clinician)))
    clock.now += 0.2
    assert served_by_service(await run_request(ficus, make_flow(headers=clinician)))


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("method", "path"),
    [
        (b"POST", b"/api/patients"),  # the legacy default route: no feature
        (b"DELETE", b"/api/appointments/7"),  # no such route in the plan
        (b"POST", b"/login"),
        (b"GET", b"/api/appointments"),  # a read of the feature's legacy route
    ],
)
async def test_requests_that_are_not_a_features_legacy_writes_pin_nothing(
    ficus, sessions, method, path
):
    clinician = [session_cookie(sessions["clinician"])]
    await exchange(ficus, make_flow(path, method=method, headers=clinician))
    assert len(ficus.pins) == 0
    assert served_by_service(await run_request(ficus, make_flow(headers=clinician)))


@pytest.mark.anyio
async def test_a_write_without_a_session_pins_nothing(ficus):
    await exchange(ficus, make_flow(b"/api/appointments", method=b"POST"))
    assert len(ficus.pins) == 0


@pytest.mark.anyio
async def test_a_pin_window_of_zero_turns_pinning_off(ficus, sessions):
    clinician = [session_cookie(sessions["clinician"])]
    await exchange(ficus, make_flow(b"/api/charts", method=b"POST", headers=clinician))
    assert len(ficus.pins) == 0
    assert served_by_service(
        await run_request(ficus, make_flow(b"/api/charts/3", headers=clinician))
    )


@pytest.mark.anyio
async def test_a_pin_covers_only_the_feature_written_to(ficus, sessions):
    clinician = [session_cookie(sessions["clinician"])]
    await exchange(ficus, make_flow(b"/api/appointments", method=b"POST", headers=clinician))
    assert served_by_service(
        await run_request(ficus, make_flow(b"/api/charts/3", headers=clinician))
    )


# Read fallback -------------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("status", [404, 500, 503])
async def test_a_read_the_service_failed_is_answered_by_legacy(
    ficus, sessions, legacy, access_log, status
):
    cookie = session_cookie(sessions["clinician"])
    flow = make_flow(b"/api/appointments/%37?prov=1", headers=[cookie], legacy=legacy)
    await exchange(ficus, flow, status, b'{"ERR": "APPOINTMENT NOT FOUND", "CODE": 201}')

    assert flow.response is not None
    assert flow.response.status_code == 200
    assert json.loads(flow.response.content or b"") == {
        "backend": "legacy",
        "path": "/api/appointments/7?prov=1",
    }
    assert flow.response.headers["X-Ficus-Request-Id"] == flow.request.headers["X-Ficus-Request-Id"]
    (received,) = legacy.requests
    assert (received.method, received.path) == ("GET", "/api/appointments/7?prov=1")
    assert received.header("Host") == "hospital.example:8000"  # the client's, as the first hop
    assert received.header(IDENTITY_HEADER) is None
    assert received.header("Cookie") == f"theme=dark; SESSID={sessions['clinician']}"
    assert received.header("X-Ficus-Request-Id") == flow.request.headers["X-Ficus-Request-Id"]
    assert received.header("X-Forwarded-Host") == "hospital.example:8000"
    # Nothing the client did not send: no Accept-Encoding, User-Agent or Connection of httpx's.
    for name in ("Accept-Encoding", "User-Agent", "Accept"):
        assert received.header(name) is None, name
    (line,) = log_lines(access_log)
    assert (line["upstream"], line["reason"], line["fallback_from"], line["status"]) == (
        "legacy",
        "fallback",
        "appointments",
        200,
    )
    assert (line["route"], line["phase"]) == ("/api/appointments/{id:int}", "migrated")
    assert "error" not in line


@pytest.mark.anyio
async def test_legacys_own_answer_is_passed_on_whole_and_still_encoded(ficus, legacy):
    gzipped = bytes.fromhex("1f8b08000000000000034b4c4a0600c241243503000000")  # "abc"
    legacy.answer(
        "/api/appointments/7",
        status=404,
        body=gzipped,
        headers=(("Content-Encoding", "gzip"), ("Set-Cookie", "LEGACY=1; Path=/")),
    )
    flow = make_flow(headers=[(b"Accept-Encoding", b"gzip")], legacy=legacy)
    await exchange(ficus, flow, 503)
    assert flow.response is not None
    assert flow.response.status_code == 404
    assert flow.response.raw_content == gzipped
    assert flow.response.content == b"abc"
    assert flow.response.headers["Content-Encoding"] == "gzip"
    assert flow.response.headers["Content-Length"] == str(len(gzipped))
    assert flow.response.headers["Set-Cookie"] == "LEGACY=1; Path=/"
    # The fallback's client serves every user: it keeps no cookie for the next one.
    second = make_flow(legacy=legacy)
    await exchange(ficus, second, 404)
    assert legacy.requests[-1].header("Cookie") is None


@pytest.mark.anyio
async def test_a_head_falls_back_too(ficus, legacy):
    flow = make_flow(method=b"HEAD", legacy=legacy)
    await exchange(ficus, flow, 404, b"")
    assert flow.response is not None
    assert flow.response.status_code == 200
    assert [(r.method, r.path) for r in legacy.requests] == [("HEAD", "/api/appointments/7")]


@pytest.mark.anyio
async def test_if_legacy_cannot_answer_either_the_client_gets_a_generic_502(
    ficus, access_log, tmp_path
):
    flow = make_flow(b"/api/appointments/7?q=DOE")
    flow.request.data.host, flow.request.data.port = "127.0.0.1", free_port()  # nobody there
    await exchange(ficus, flow, 503, b"PATIENT DOE SSN 900-12-3456")
    assert flow.response is not None
    assert flow.response.status_code == 502
    assert b"DOE" not in (flow.response.content or b"")
    assert b"127.0.0.1" not in (flow.response.content or b"")
    (line,) = log_lines(access_log)
    assert (line["status"], line["upstream"], line["fallback_from"], line["error"]) == (
        502,
        "legacy",
        "appointments",
        "fallback_failed",
    )


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        (b"POST", b"/api/charts/3", 500),  # a write: never retried (RFC 9110 9.2.2)
        (b"POST", b"/api/charts/3", 404),
        (b"GET", b"/api/charts/3/archive", 404),  # retired: legacy is never used again
        (b"GET", b"/api/appointments/7", 401),  # the service's own answers
        (b"GET", b"/api/appointments/7", 403),
        (b"GET", b"/api/appointments/7", 400),
        (b"GET", b"/api/appointments/7", 200),
    ],
)
async def test_other_answers_stay_the_services(ficus, legacy, access_log, method, path, status):
    flow = make_flow(path, method=method, content=b"{}", legacy=legacy)
    await exchange(ficus, flow, status, b"service")
    assert served_by_service(flow)
    assert flow.response is not None
    assert (flow.response.status_code, flow.response.content) == (status, b"service")
    assert legacy.requests == []
    (line,) = log_lines(access_log)
    assert line["reason"] == "route"
    assert "fallback_from" not in line


@pytest.mark.anyio
async def test_a_pinned_read_legacy_cannot_find_is_not_asked_twice(ficus, sessions, legacy):
    clinician = [session_cookie(sessions["clinician"])]
    await exchange(ficus, make_flow(b"/api/appointments", method=b"POST", headers=clinician))
    flow = make_flow(headers=clinician, legacy=legacy)
    await exchange(ficus, flow, 404)
    assert flow.response is not None
    assert flow.response.status_code == 404
    assert legacy.requests == []  # the flow itself went to legacy; nothing re-sent


@pytest.mark.anyio
async def test_a_response_the_proxy_made_itself_is_not_retried(configured, tmp_path, legacy):
    addon = FicusChain()
    options = {**configured, "ficus_legacy_db": f"sqlite:///{tmp_path / 'no-tables.sqlite3'}"}
    with taddons.context(addon) as tctx:
        tctx.configure(addon, **options)
        flow = make_flow(headers=[session_cookie("any")], legacy=legacy)
        await exchange(addon, flow)
        addon.done()
    assert flow.response is not None
    assert flow.response.status_code == 503
    assert legacy.requests == []


@pytest.mark.anyio
async def test_done_closes_the_fallbacks_connections(configured, legacy):
    addon = FicusChain()
    with taddons.context(addon) as tctx:
        tctx.configure(addon, **configured)
        await exchange(addon, make_flow(legacy=legacy), 404)
        # Closed at once (test_fallback.py shows the socket closes): nothing left to await.
        assert addon.done() is None


@pytest.mark.parametrize(
    "fields",
    [
        [(b"Host", b"client.example"), (b"Accept", b"*/*")],
        [(b"Accept", b"*/*"), (b"host", b"client.example"), (b"X-A", b"1")],
        [(b"Accept", b"*/*")],  # none: appended, as mitmproxy appends it
        [],
    ],
)
@pytest.mark.parametrize("version", [b"HTTP/1.1", b"HTTP/1.0"])
def test_the_host_is_set_where_and_as_mitmproxy_s_setter_sets_it(fields, version):
    ours = tutils.treq(http_version=version, headers=http.Headers(fields))
    theirs = tutils.treq(http_version=version, headers=http.Headers(fields))
    set_host(ours, "legacy.internal:8001", http2=False)
    theirs.host_header = "legacy.internal:8001"
    assert ours.data.headers.fields == theirs.data.headers.fields
    assert ours.host_header == "legacy.internal:8001"


@pytest.mark.parametrize(
    "fields",
    [
        [(b"host", b"client.example"), (b"accept", b"*/*")],
        [(b"accept", b"*/*")],
        [(b"host", b"a.example"), (b"host", b"b.example")],
    ],
)
def test_an_http2_request_leaves_with_exactly_one_host_whatever_it_carried(fields):
    # mitmproxy's setter would keep a client `host` next to :authority: two Hosts upstream.
    request = tutils.treq(http_version=b"HTTP/2.0", headers=http.Headers(fields))
    request.data.authority = b"client.example"
    set_host(request, "legacy.internal:8001", http2=True)
    hosts = [v for n, v in request.data.headers.fields if n.lower() == b"host"]
    assert hosts == [b"legacy.internal:8001"]
    assert request.data.authority == b"legacy.internal:8001"
