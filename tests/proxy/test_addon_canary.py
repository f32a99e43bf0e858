"""The addon's cohort lookup, hot-reloaded states, trailing slash and stats, on mitmproxy's own
test harness with a real control-plane SQLite file and real legacy sessions (the personas').

One session cookie, one session: however the clinician's Cookie header spells SESSID (twice,
with blanks), the cohort, the read-your-writes pin and the identity all come from the session
the legacy app reads (`domain.identity.legacy_cookie`)."""

from __future__ import annotations

import pytest
from mitmproxy import exceptions, http
from mitmproxy.test import taddons, tflow, tutils

from domain.identity import IDENTITY_HEADER
from domain.phases import cohort_bucket, in_canary
from domain.routes import Reason
from tests.proxy.control_db import ddl_control_db, set_state
from tests.proxy.hooks import FicusChain, finished
from tests.proxy.personas import seed_sessions
from tests.proxy.test_addon import identity_of

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
pin_reads_after_write_seconds: 60
routes:
  - method: GET
    path: /api/patients/{{id:int}}
    phase: legacy
  - method: POST
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
# A plan may name the session cookie as a plain cookie: it is still the session legacy reads.
NOTES_PLAN = """\
feature: notes
owner: Test
upstream:
  name: notes
  instances: [http://127.0.0.1:18104]
legacy_tables: []
cohort: {key: cookie, name: SESSID}
routes:
  - method: GET
    path: /api/notes/{id:int}
    phase: legacy
"""
SESSIONS = [f"{i:032x}" for i in range(1, 120)]
# How a browser, a proxy or an attacker may spell the clinician's session cookie; the legacy app
# reads the first SESSID, stripped of blanks (demo/legacy/http.py `parse_cookies`).
COOKIE_FORMS = {
    "plain": "SESSID={session}",
    "two-sessid-cookies": "SESSID={session}; SESSID={other}",
    "blanks-around-the-value": "SESSID= {session} ",
}


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture
def control(tmp_path):
    url = ddl_control_db(tmp_path / "control.sqlite3")
    set_state(url, "patients", "GET", "/api/patients/{id:int}", "canary", 50)
    set_state(url, "wards", "GET", "/api/wards/beds", "canary", 50)
    set_state(url, "notes", "GET", "/api/notes/{id:int}", "canary", 50)
    return url


@pytest.fixture
def sessions(tmp_path) -> dict[str, str]:
    return seed_sessions(f"sqlite:///{tmp_path / 'legacy.sqlite3'}")


@pytest.fixture
async def ficus(tmp_path, control, sessions):
    plans = tmp_path / "plans"
    plans.mkdir()
    (plans / "patients.yaml").write_text(PLAN)
    (plans / "wards.yaml").write_text(WARD_PLAN)
    (plans / "notes.yaml").write_text(NOTES_PLAN)
    addon = FicusChain()
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


def flow_for(path: bytes, *headers: tuple[bytes, bytes], method: bytes = b"GET") -> http.HTTPFlow:
    request = tutils.treq(
        method=method, path=path, headers=http.Headers([(b"Host", b"h:8000"), *headers])
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
@pytest.mark.parametrize("written_with", COOKIE_FORMS)
async def test_every_spelling_of_a_clinicians_cookie_is_one_session_for_cohort_pin_and_identity(
    ficus, control, sessions, written_with
):
    clinician = sessions["clinician"]
    # The smallest weight that puts the clinician's session on the service side, and a second
    # SESSID the legacy app ignores that this weight would leave on legacy (when there is one).
    weight = cohort_bucket("patients", clinician) // 100 + 1
    set_state(control, "patients", "GET", "/api/patients/{id:int}", "canary", weight)
    ficus.control_plane().poll_once()
    other = next(
        (s for s in SESSIONS if not in_canary(cohort_bucket("patients", s), weight)), SESSIONS[0]
    )
    cookies = {
        name: (b"Cookie", form.format(session=clinician, other=other).encode())
        for name, form in COOKIE_FORMS.items()
    }

    def login_of(read: http.HTTPFlow) -> str | None:
        token = read.request.headers.get(IDENTITY_HEADER)
        return None if token is None else identity_of(read.request, token, KEY).login

    served = {}
    for name, cookie in cookies.items():
        read = flow_for(b"/api/patients/9", cookie)
        await finished(ficus.request(read))
        reason = read.metadata["ficus"].decision.reason
        served[name] = (served_by_service(read), reason, login_of(read))
    assert served == dict.fromkeys(cookies, (True, Reason.COHORT, "clinician"))

    # A write legacy accepts pins that one session's reads, however either cookie is spelt.
    write = flow_for(b"/api/patients/9", cookies[written_with], method=b"POST")
    await finished(ficus.request(write))
    write.response = tutils.tresp(status_code=200)
    await finished(ficus.response(write))
    pinned = {}
    for name, cookie in cookies.items():
        read = flow_for(b"/api/patients/9", cookie)
        await finished(ficus.request(read))
        pinned[name] = (served_by_service(read), read.metadata["ficus"].decision.reason)
    assert pinned == dict.fromkeys(cookies, (False, Reason.PINNED))
    assert len(ficus.pins) == 1


@pytest.mark.anyio
async def test_a_cookie_cohort_named_sessid_is_the_session_legacy_reads(ficus):
    for session in SESSIONS[:40]:
        cookie = (b"Cookie", f"SESSID= {session} ; SESSID=other".encode())
        flow = flow_for(b"/api/notes/3", cookie)
        await finished(ficus.request(flow))
        decision = flow.metadata["ficus"].decision
        assert decision.reason is Reason.COHORT
        assert decision.to_legacy is not (cohort_bucket("notes", session) < 5000)


@pytest.mark.anyio
async def test_a_query_cohort_comes_from_the_query(ficus):
    for ward in ("A1", "B2", "C3", "D4", "E5", "F6", "G7", "H8"):
        flow = flow_for(f"/api/wards/beds?ward={ward}".encode())
        await finished(ficus.request(flow))
        decision = flow.metadata["ficus"].decision
        assert decision.to_legacy is not (cohort_bucket("wards", ward) < 5000)
        assert decision.reason is Reason.COHORT


@pytest.mark.anyio
async def test_an_outsider_giving_two_different_cohort_values_gets_legacy(ficus):
    # Either could put the request on either side: no value, and legacy serves.
    flow = flow_for(b"/api/wards/beds?ward=A1&ward=B2")
    await finished(ficus.request(flow))
    assert flow.metadata["ficus"].decision.to_legacy
    assert flow.metadata["ficus"].decision.reason is Reason.NO_COHORT


@pytest.mark.anyio
async def test_a_match_trailing_slash_is_forwarded_without_it(ficus, control):
    set_state(control, "patients", "GET", "/api/patients/{id:int}", "migrated")
    ficus.control_plane().poll_once()  # what the poller thread does every 0.2 s
    flow = flow_for(b"/api/patients/9/?x=1")
    await finished(ficus.request(flow))
    assert served_by_service(flow)
    assert flow.request.path == "/api/patients/9?x=1"
    assert flow.metadata["ficus"].decision.template == "/api/patients/{id:int}"


@pytest.mark.anyio
async def test_answers_are_counted_per_route_and_side(ficus, control):
    set_state(control, "patients", "GET", "/api/patients/{id:int}", "migrated")
    ficus.control_plane().poll_once()
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
    addon = FicusChain()
    with (
        taddons.context(addon) as tctx,
        pytest.raises(exceptions.OptionsError, match="ficus_control_db"),
    ):
        tctx.configure(addon, ficus_control_db="::not a url::")
