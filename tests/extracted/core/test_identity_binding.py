"""Issue 12, point 10: the signed identity is good for one request, not a 60-second bearer token.

A token the proxy minted for one request (its id, method, path and query) is refused on any
other, a write included, and so is a token that lives longer than the proxy ever mints (a
10-year expiry), on every face in its own format: the legacy 401 body, RFC 9457 on /v2, a FHIR
OperationOutcome. The dry-run token is bound the same way. Through the proxy, every face still
works for a clinician's session.

Real processes: the appointments service under `runservice` (gunicorn) with the legacy database
on SQLite, and a `runproxy` process in front of it for the last test.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from domain.identity import IDENTITY_HEADER, REQUEST_ID_HEADER, binding_for_target
from tests.extracted.identities import KEY, dry_run_header, identity_header
from tests.proxy.personas import seed_sessions
from tests.proxy.processes import running_proxy
from tests.support.backends import recording_backend
from tests.support.ownership import plans_with_writes_in
from tests.support.sync_stack import SyncStack

pytestmark = pytest.mark.e2e

TEN_YEARS = 10 * 365 * 86400
LEGACY_401 = {"ERR": "NOT LOGGED IN", "CODE": 101}
# The proxy's routes for the modern faces (the shipped plan routes only the legacy contract).
MODERN_ROUTES = [
    {"method": "GET", "path": "/v2/appointments/{id:int}", "phase": "migrated"},
    {"method": "PATCH", "path": "/v2/appointments/{id:int}", "phase": "migrated"},
    {"method": "GET", "path": "/fhir/Appointment/{id:int}", "phase": "migrated"},
]


def plans_for(directory: Path) -> Path:
    """The shipped plans with every route of appointments served by the service."""
    plans = plans_with_writes_in(directory, "migrated")
    source = plans / "appointments.yaml"
    plan = yaml.safe_load(source.read_text())
    for route in plan["routes"]:
        route["phase"] = "migrated"
    plan["routes"] += MODERN_ROUTES
    plan["pin_reads_after_write_seconds"] = 0
    source.write_text(yaml.safe_dump(plan, sort_keys=False))
    return plans


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SyncStack]:
    directory = tmp_path_factory.mktemp("binding")
    plans = plans_for(directory / "plans")
    running = SyncStack(directory, features=("appointments",), plans_dir=plans)
    try:
        running.prepare(appointments=3)
        running.start_service("appointments")
        yield running
    finally:
        running.close()


def send(
    base: str, method: str, path: str, headers: dict[str, str], body: Any = None
) -> tuple[int, dict[str, str], bytes]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        base + path,
        data=data,
        method=method,
        headers={**headers, "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def minted_for(method: str, target: str, *, request_id: str, **kwargs: Any) -> str:
    """The token the proxy would mint for `method target` with id `request_id`."""
    binding = binding_for_target(method, target.encode("ascii"))
    return identity_header("clinician", request_id=request_id, binding=binding, **kwargs)


def assert_refused_in_the_face_format(status: int, headers: dict[str, str], body: bytes, path: str):
    assert status == 401, body
    if path.startswith("/v2/"):
        assert headers["Content-Type"] == "application/problem+json"
        assert json.loads(body)["status"] == 401
    elif path.startswith("/fhir/"):
        assert headers["Content-Type"].startswith("application/fhir+json")
        assert json.loads(body)["resourceType"] == "OperationOutcome"
    else:
        assert json.loads(body) == LEGACY_401


def unchanged(stack: SyncStack, before: dict[str, Any]) -> bool:
    return (
        stack.service_row("appointments", 1) == before
        and stack.service_sql("appointments", "SELECT COUNT(*) FROM ficus_outbox")[0][0] == 0
    )


# (what the token was minted for, what it is replayed on): method, target, request id.
REPLAYS = [
    pytest.param(
        ("POST", "/api/appointments/1/cancel", "rid-a"),
        ("POST", "/api/appointments/1/cancel", "rid-b"),
        id="legacy-cancel-other-request-id",
    ),
    pytest.param(
        ("GET", "/api/appointments/1", "rid-a"),
        ("PUT", "/api/appointments/1", "rid-a"),
        id="legacy-read-replayed-as-a-reschedule",
    ),
    pytest.param(
        ("POST", "/api/appointments/2/cancel", "rid-a"),
        ("POST", "/api/appointments/1/cancel", "rid-a"),
        id="legacy-cancel-other-path",
    ),
    pytest.param(
        ("GET", "/v2/appointments/1", "rid-a"),
        ("PATCH", "/v2/appointments/1", "rid-a"),
        id="v2-read-replayed-as-a-patch",
    ),
    pytest.param(
        ("PATCH", "/v2/appointments/2", "rid-a"),
        ("PATCH", "/v2/appointments/1", "rid-a"),
        id="v2-patch-other-path",
    ),
    pytest.param(
        ("GET", "/fhir/Appointment/2", "rid-a"),
        ("GET", "/fhir/Appointment/1", "rid-a"),
        id="fhir-read-other-path",
    ),
    pytest.param(
        ("GET", "/fhir/Appointment/1?_format=json", "rid-a"),
        ("GET", "/fhir/Appointment/1", "rid-a"),
        id="fhir-read-other-query",
    ),
]
BODIES = {
    "PUT": {"APPT_DT": "20261121", "APPT_TM": "0930", "REASON_TXT": "REPLAYED"},
    "PATCH": {"reason": "REPLAYED"},
}


@pytest.mark.parametrize(("minted", "replayed"), REPLAYS)
def test_a_token_minted_for_one_request_is_refused_on_another(stack, minted, replayed):
    before = stack.service_row("appointments", 1)
    method, target, request_id = minted
    token = minted_for(method, target, request_id=request_id)
    method, target, request_id = replayed
    headers = {IDENTITY_HEADER: token, REQUEST_ID_HEADER: request_id}

    status, answer_headers, body = send(
        stack.urls["appointments"], method, target, headers, BODIES.get(method)
    )

    assert_refused_in_the_face_format(status, answer_headers, body, target)
    assert unchanged(stack, before)


@pytest.mark.parametrize(
    ("method", "target"),
    [
        ("POST", "/api/appointments/1/cancel"),
        ("GET", "/api/appointments/1"),
        ("PATCH", "/v2/appointments/1"),
        ("GET", "/fhir/Appointment/1"),
    ],
)
def test_a_ten_year_token_for_the_very_request_is_refused(stack, method, target):
    before = stack.service_row("appointments", 1)
    token = minted_for(method, target, request_id="rid-long", expires_in=TEN_YEARS)
    headers = {IDENTITY_HEADER: token, REQUEST_ID_HEADER: "rid-long"}

    status, answer_headers, body = send(
        stack.urls["appointments"], method, target, headers, BODIES.get(method)
    )

    assert_refused_in_the_face_format(status, answer_headers, body, target)
    assert unchanged(stack, before)


@pytest.mark.parametrize(
    "dry_run",
    [
        pytest.param(("PUT", "/api/appointments/2", 30), id="minted-for-another-path"),
        pytest.param(("PUT", "/api/appointments/1", TEN_YEARS), id="ten-years"),
    ],
)
def test_a_dry_run_token_for_another_request_or_too_long_is_refused(stack, dry_run):
    # The identity is right for this request; only the dry-run promise is not.
    before = stack.service_row("appointments", 1)
    method, target, expires_in = dry_run
    binding = binding_for_target(method, target.encode("ascii"))
    headers = {
        IDENTITY_HEADER: minted_for("PUT", "/api/appointments/1", request_id="rid-dry"),
        REQUEST_ID_HEADER: "rid-dry",
        **dry_run_header("rid-dry", expires_in=expires_in, binding=binding),
    }

    status, _, body = send(
        stack.urls["appointments"], "PUT", "/api/appointments/1", headers, BODIES["PUT"]
    )

    assert (status, json.loads(body)) == (403, {"ERR": "ACCESS DENIED", "CODE": 102})
    assert unchanged(stack, before)


def test_every_face_still_works_through_the_proxy(stack, tmp_path):
    sessions = seed_sessions(stack.legacy_url)
    cookie = {"Cookie": f"SESSID={sessions['clinician']}"}
    env = {
        "FICUS_IDENTITY_KEY": KEY,
        "FICUS_UPSTREAM_APPOINTMENTS": stack.urls["appointments"],
        "FICUS_CONTROL_DB_URL": "",
        "FICUS_DB_DEFAULT_URL": "",
    }
    with (
        recording_backend("legacy") as legacy,
        running_proxy(
            tmp_path,
            legacy_url=legacy.url,
            plans_dir=stack.dir / "plans",
            legacy_db_url=stack.legacy_url,
            env=env,
        ) as proxy,
    ):
        reads = [
            send(proxy.url, "GET", path, cookie)
            for path in ("/api/appointments/3", "/v2/appointments/3", "/fhir/Appointment/3")
        ]
        reschedule = send(proxy.url, "PUT", "/api/appointments/3", cookie, BODIES["PUT"])
        patch = send(proxy.url, "PATCH", "/v2/appointments/3", cookie, {"reason": "VIA PROXY"})
        cancel = send(proxy.url, "POST", "/api/appointments/3/cancel", cookie)

    assert [status for status, _, _ in reads] == [200, 200, 200], reads
    assert json.loads(reads[0][2])["APPT_ID"] == 3
    assert json.loads(reads[1][2])["id"] == 3
    assert json.loads(reads[2][2])["resourceType"] == "Appointment"
    assert (reschedule[0], patch[0], cancel[0]) == (200, 200, 200), (reschedule, patch, cancel)
    assert stack.service_row("appointments", 3)["status"] == "cancelled"
    assert legacy.requests == []


@pytest.mark.parametrize(
    ("method", "target"),
    [
        ("POST", "/api/appointments/1/cancel"),
        ("PATCH", "/v2/appointments/1"),
        ("GET", "/fhir/Appointment/1"),
    ],
)
@pytest.mark.parametrize("token", ["v1.\xe9.\xe9", "v1.eyJ\xff.AAAA"], ids=["mac", "payload"])
def test_an_outsiders_non_ascii_token_is_a_401_not_a_500(stack, method, target, token):
    """Header values arrive as latin-1 text; the token's MAC is over ASCII. The fuzzer
    (tests/proxy/test_identity_fuzz.py) found these answered 500 (UnicodeEncodeError)."""
    # Runs after the through-the-proxy test has written: nothing more may be written now.
    before = stack.service_row("appointments", 1)
    queued = stack.service_sql("appointments", "SELECT COUNT(*) FROM ficus_outbox")[0][0]
    headers = {IDENTITY_HEADER: token, REQUEST_ID_HEADER: "rid-outsider"}

    status, answer_headers, body = send(
        stack.urls["appointments"], method, target, headers, BODIES.get(method)
    )

    assert_refused_in_the_face_format(status, answer_headers, body, target)
    assert stack.service_row("appointments", 1) == before
    assert stack.service_sql("appointments", "SELECT COUNT(*) FROM ficus_outbox")[0][0] == queued
