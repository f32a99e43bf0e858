"""`manage.py runproxy` end to end: a real proxy process between real loopback backends.

Two recording backends stand for the legacy app and the appointments service; the shipped
appointments plan diverts `GET /api/appointments/{id:int}` through FICUS_UPSTREAM_APPOINTMENTS.
Two more plans point at a backend that answers garbage and at a port where nothing listens, and
a `records` plan has a write in `migrated` (served by the same recording service). The legacy
database is a real SQLite file with the personas' sessions. The recording backends can be told
to answer a path with another status (a service that has not synced yet, or fails).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from domain.identity import IDENTITY_HEADER
from tests.proxy.personas import add_session, seed_sessions
from tests.proxy.processes import (
    ROOT,
    SHIPPED_PLANS,
    raw_exchange,
    running_proxy,
    status_of,
)
from tests.support.backends import raw_backend, recording_backend
from tests.support.ports import free_port, wait_for_port

KEY = "an-identity-key-for-tests-only-0123456789"
GARBAGE = b"PATIENT DOE, JANE SSN 900-12-3456\r\n\r\n"

EXTRA_PLAN = """\
feature: {name}
owner: Test
upstream:
  name: {name}
  instances: [http://127.0.0.1:1]
legacy_tables: []
routes:
  - method: GET
    path: /api/{name}/{{id:int}}
    phase: migrated
  - method: DELETE
    path: /api/{name}/{{id:int}}
    phase: migrated
"""

RECORDS_PLAN = """\
feature: records
owner: Test
upstream:
  name: records
  instances: [http://127.0.0.1:1]
legacy_tables: []
routes:
  - method: GET
    path: /api/records/{id:int}
    phase: migrated
  - method: POST
    path: /api/records/{id:int}
    phase: migrated
"""


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Backends, sessions and one proxy process, shared by this module's tests."""
    workdir = tmp_path_factory.mktemp("runproxy")
    plans = workdir / "plans"
    plans.mkdir()
    shutil.copy(SHIPPED_PLANS / "appointments.yaml", plans / "appointments.yaml")
    for name in ("garbage", "down"):
        (plans / f"{name}.yaml").write_text(EXTRA_PLAN.format(name=name))
    (plans / "records.yaml").write_text(RECORDS_PLAN)
    db_url = f"sqlite:///{workdir / 'legacy.sqlite3'}"
    sessions = seed_sessions(db_url)
    with (
        recording_backend("legacy") as legacy,
        recording_backend("appointments") as service,
        raw_backend(GARBAGE) as garbage,
    ):
        env = {
            "FICUS_IDENTITY_KEY": KEY,
            "FICUS_UPSTREAM_APPOINTMENTS": service.url,
            "FICUS_UPSTREAM_GARBAGE": garbage.url,
            "FICUS_UPSTREAM_DOWN": f"http://127.0.0.1:{free_port()}",
            "FICUS_UPSTREAM_RECORDS": service.url,
        }
        with (
            running_proxy(
                workdir, legacy_url=legacy.url, plans_dir=plans, legacy_db_url=db_url, env=env
            ) as proxy,
            httpx.Client(base_url=proxy.url, timeout=10) as client,
        ):
            yield {
                "proxy": proxy,
                "client": client,
                "legacy": legacy,
                "service": service,
                "sessions": sessions,
                "db_url": db_url,
            }


@pytest.fixture
def w(world):
    for backend in (world["legacy"], world["service"]):
        backend.clear()
        backend.forget_answers()
    return world


def test_each_request_reaches_the_backend_its_route_names(w):
    client = w["client"]
    assert client.get("/api/appointments/7?prov=1").json()["backend"] == "appointments"
    assert client.get("/api/patients?q=DOE").json()["backend"] == "legacy"
    assert client.post("/api/appointments", json={"PAT_ID": 1}).json()["backend"] == "legacy"
    assert client.get("/api/appointments/abc").json()["backend"] == "legacy"
    assert client.head("/api/appointments/8").status_code == 200
    assert w["service"].paths() == ["/api/appointments/7?prov=1", "/api/appointments/8"]
    assert w["legacy"].paths() == [
        "/api/patients?q=DOE",
        "/api/appointments",
        "/api/appointments/abc",
    ]
    assert [r.method for r in w["service"].requests] == ["GET", "HEAD"]


def test_the_access_log_names_upstream_and_template_and_never_the_query(w):
    proxy, client = w["proxy"], w["client"]
    service_id = client.get("/api/appointments/7?q=DOE").headers["X-Ficus-Request-Id"]
    legacy_id = client.get("/api/patients?q=SMITH").headers["X-Ficus-Request-Id"]
    service_line = proxy.log_line(service_id)
    assert service_line["upstream"] == "appointments"
    assert service_line["route"] == "/api/appointments/{id:int}"
    assert (service_line["feature"], service_line["phase"], service_line["status"]) == (
        "appointments",
        "migrated",
        200,
    )
    legacy_line = proxy.log_line(legacy_id)
    assert (legacy_line["upstream"], legacy_line["route"]) == ("legacy", "/**")
    text = proxy.access_log.read_text()
    assert "DOE" not in text
    assert "SMITH" not in text
    assert "?" not in text


def test_the_service_gets_the_canonical_path(w):
    proxy = w["proxy"]
    raw = raw_exchange(
        proxy.port,
        b"GET /api/appointments/%37?prov=%31 HTTP/1.1\r\nHost: hospital.example\r\n"
        b"Connection: close\r\n\r\n",
    )
    assert status_of(raw) == 200
    assert w["service"].paths() == ["/api/appointments/7?prov=%31"]


@pytest.mark.parametrize(
    "target",
    [
        b"/api/x/../appointments/7",
        b"/api/appointments%2F7",
        b"/api/appointments/%2e%2e/7",
        b"/api/appointments/7%00",
        b"/api/appointments/%C0%AF",
    ],
)
def test_ambiguous_paths_are_refused_with_400_and_reach_no_backend(w, target):
    raw = raw_exchange(
        w["proxy"].port,
        b"GET " + target + b" HTTP/1.1\r\nHost: hospital.example\r\nConnection: close\r\n\r\n",
    )
    assert status_of(raw) == 400
    assert b"NOT ALLOWED" in raw or b"NOT VALID" in raw  # the reason, in the legacy JSON shape
    assert w["service"].requests == []
    assert w["legacy"].requests == []


def test_a_clinician_reaches_the_service_with_a_valid_identity(w):
    response = w["client"].get(
        "/api/appointments/7", headers={"Cookie": f"SESSID={w['sessions']['clinician']}"}
    )
    (received,) = w["service"].requests
    identity = received.identity(KEY.encode())
    assert (identity.login, identity.role) == ("clinician", "CLIN")
    assert identity.request_id == received.header("X-Ficus-Request-Id")
    assert identity.request_id == response.headers["X-Ficus-Request-Id"]
    assert received.header("X-Forwarded-For") == "127.0.0.1"
    assert received.header("X-Forwarded-Proto") == "http"
    assert received.header("X-Forwarded-Host") == f"127.0.0.1:{w['proxy'].port}"
    assert received.header("Host") == f"127.0.0.1:{w['service'].port}"


@pytest.mark.parametrize("cookie", [None, "forged-session-id", "expired"])
def test_an_outsider_reaches_the_service_without_identity(w, cookie):
    if cookie == "expired":
        cookie = w["sessions"]["expired"]
    headers = {"Cookie": f"SESSID={cookie}"} if cookie else None
    w["client"].get("/api/appointments/7", headers=headers)
    (received,) = w["service"].requests
    assert received.header(IDENTITY_HEADER) is None


def test_a_forged_identity_header_never_reaches_a_backend(w):
    client, sessions = w["client"], w["sessions"]
    forged = {IDENTITY_HEADER: "v1.eyJzdWIiOjEsInJvbGUiOiJBRE1JTiJ9.forged", "X-Ficus-Dry-Run": "1"}
    client.get("/api/appointments/7", headers=forged)
    client.get(
        "/api/appointments/7", headers={**forged, "Cookie": f"SESSID={sessions['operator']}"}
    )
    client.get("/api/patients/1", headers=forged)
    outsider, operator = w["service"].requests
    (legacy,) = w["legacy"].requests
    assert outsider.header(IDENTITY_HEADER) is None
    assert legacy.header(IDENTITY_HEADER) is None
    assert operator.headers[IDENTITY_HEADER.lower()] != [forged[IDENTITY_HEADER]]
    assert operator.identity(KEY.encode()).role == "OPER"
    for received in (outsider, operator, legacy):
        assert received.header("X-Ficus-Dry-Run") is None


NOT_FOUND = b'{"ERR": "APPOINTMENT NOT FOUND", "CODE": 201}'


@pytest.mark.parametrize(("status", "body"), [(404, NOT_FOUND), (503, b"Service Unavailable")])
def test_a_read_the_service_fails_is_answered_by_legacy_once(w, status, body):
    w["service"].answer("/api/appointments/7", status=status, body=body)
    cookie = {"Cookie": f"SESSID={w['sessions']['clinician']}"}
    response = w["client"].get("/api/appointments/7?prov=1", headers=cookie)
    assert response.status_code == 200
    assert response.json() == {"backend": "legacy", "path": "/api/appointments/7?prov=1"}
    assert w["service"].paths() == ["/api/appointments/7?prov=1"]
    (legacy,) = w["legacy"].requests
    assert (legacy.method, legacy.path) == ("GET", "/api/appointments/7?prov=1")
    assert legacy.header(IDENTITY_HEADER) is None
    # The fallback keeps the client's Host too (proxy.host_header).
    assert legacy.header("Host") == f"127.0.0.1:{w['proxy'].port}"
    assert legacy.header("Cookie") == f"SESSID={w['sessions']['clinician']}"
    request_id = response.headers["X-Ficus-Request-Id"]
    assert legacy.header("X-Ficus-Request-Id") == request_id
    line = w["proxy"].log_line(request_id)
    assert (line["route"], line["phase"], line["status"]) == (
        "/api/appointments/{id:int}",
        "migrated",
        200,
    )
    assert (line["upstream"], line["reason"], line["fallback_from"]) == (
        "legacy",
        "fallback",
        "appointments",
    )
    assert "?" not in w["proxy"].access_log.read_text()


def test_a_head_the_service_fails_is_answered_by_legacy(w):
    w["service"].answer("/api/appointments/8", status=404)
    response = w["client"].head("/api/appointments/8")
    assert response.status_code == 200
    assert [(r.method, r.path) for r in w["service"].requests] == [("HEAD", "/api/appointments/8")]
    assert [(r.method, r.path) for r in w["legacy"].requests] == [("HEAD", "/api/appointments/8")]


def test_when_legacy_also_has_nothing_the_client_gets_legacys_answer(w):
    w["service"].answer("/api/appointments/9", status=404, body=NOT_FOUND)
    w["legacy"].answer("/api/appointments/9", status=404, body=NOT_FOUND)
    response = w["client"].get("/api/appointments/9")
    assert (response.status_code, response.content) == (404, NOT_FOUND)
    assert len(w["service"].requests) == len(w["legacy"].requests) == 1


def test_a_write_a_service_fails_is_never_retried(w):
    w["service"].answer("/api/records/5", status=500, body=b"service failed")
    response = w["client"].post("/api/records/5", json={"x": 1})
    assert (response.status_code, response.content) == (500, b"service failed")
    assert [r.method for r in w["service"].requests] == ["POST"]
    assert w["legacy"].requests == []
    line = w["proxy"].log_line(response.headers["X-Ficus-Request-Id"])
    assert (line["upstream"], line["reason"], line["status"]) == ("records", "route", 500)
    assert "fallback_from" not in line


def test_a_clinicians_booking_pins_their_reads_to_legacy_but_not_an_auditors(w):
    # A second clinician session: the pin must not leak into the other tests' shared session.
    clinician = {"Cookie": f"SESSID={add_session(w['db_url'], 'clinician')}"}
    auditor = {"Cookie": f"SESSID={w['sessions']['auditor']}"}
    client, proxy = w["client"], w["proxy"]
    booked = client.post("/api/appointments", json={"PAT_ID": 1}, headers=clinician)
    assert booked.json()["backend"] == "legacy"
    mine = client.get("/api/appointments/7", headers=clinician)
    theirs = client.get("/api/appointments/7", headers=auditor)
    assert mine.json()["backend"] == "legacy"
    assert theirs.json()["backend"] == "appointments"
    assert w["service"].paths() == ["/api/appointments/7"]
    assert [(r.method, r.path) for r in w["legacy"].requests] == [
        ("POST", "/api/appointments"),
        ("GET", "/api/appointments/7"),
    ]
    write_line = proxy.log_line(booked.headers["X-Ficus-Request-Id"])
    assert (write_line["route"], write_line["feature"], write_line["upstream"]) == (
        "/api/appointments",
        "appointments",
        "legacy",
    )
    mine_line = proxy.log_line(mine.headers["X-Ficus-Request-Id"])
    assert (mine_line["route"], mine_line["upstream"], mine_line["reason"]) == (
        "/api/appointments/{id:int}",
        "legacy",
        "pinned",
    )
    theirs_line = proxy.log_line(theirs.headers["X-Ficus-Request-Id"])
    assert (theirs_line["upstream"], theirs_line["reason"]) == ("appointments", "route")


def test_a_refused_booking_pins_nothing(w):
    clinician = {"Cookie": f"SESSID={add_session(w['db_url'], 'clinician')}"}
    w["legacy"].answer(
        "/api/appointments",
        method="POST",
        status=409,
        body=b'{"ERR": "SLOT NOT AVAILABLE", "CODE": 401}',
    )
    refused = w["client"].post("/api/appointments", json={"PAT_ID": 1}, headers=clinician)
    assert refused.status_code == 409
    assert w["client"].get("/api/appointments/7", headers=clinician).json()["backend"] == (
        "appointments"
    )


def test_upstream_garbage_gives_a_generic_502(w):
    # A write: a read would be answered by legacy (tests/proxy/test_forwarder_fallback.py).
    response = w["client"].delete("/api/garbage/1")
    assert response.status_code == 502
    assert b"DOE" not in response.content
    assert b"900-12-3456" not in response.content
    assert b"Bad HTTP" not in response.content
    line = w["proxy"].log_lines()[-1]
    assert (line["route"], line["status"], line["error"]) == (
        "/api/garbage/{id:int}",
        502,
        "upstream_garbage",
    )


def test_an_unreachable_upstream_gives_a_generic_502(w):
    response = w["client"].delete("/api/down/1")
    assert response.status_code == 502
    assert b"127.0.0.1" not in response.content
    assert b"refused" not in response.content.lower()
    assert w["proxy"].log_lines()[-1]["error"] == "upstream_refused"


def test_the_proxy_stops_cleanly_on_sigint(tmp_path):
    with (
        recording_backend("legacy") as legacy,
        running_proxy(tmp_path, legacy_url=legacy.url, plans_dir=tmp_path) as proxy,
    ):
        httpx.get(f"{proxy.url}/", timeout=10)
        assert proxy.stop(signal.SIGINT) == 0
    assert [line["status"] for line in proxy.log_lines()] == [200]


def test_a_bad_plan_stops_the_proxy_from_starting(tmp_path):
    plans = tmp_path / "plans"
    plans.mkdir()
    shipped = (SHIPPED_PLANS / "appointments.yaml").read_text()
    (plans / "appointments.yaml").write_text(shipped.replace("{id:int}", "{id:integer}", 1))
    line = shipped[: shipped.index("{id:int}")].count("\n") + 1
    index = shipped[: shipped.index("{id:int}")].count("- method:") - 1
    with (
        pytest.raises(RuntimeError) as info,
        running_proxy(tmp_path, legacy_url="http://127.0.0.1:1", plans_dir=plans),
    ):
        pass
    assert f"appointments.yaml:{line}: routes[{index}].path: '{{id:integer}}'" in str(info.value)


def test_a_service_route_without_an_identity_key_stops_the_proxy_from_starting(tmp_path):
    env = {"FICUS_IDENTITY_KEY": ""}
    with (
        pytest.raises(RuntimeError) as info,
        running_proxy(tmp_path, legacy_url="http://127.0.0.1:1", env=env),
    ):
        pass
    assert "FICUS_IDENTITY_KEY" in str(info.value)


def test_help_documents_every_option():
    result = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "runproxy", "--help"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert result.returncode == 0
    for option in (
        "--host",
        "--port",
        "--legacy",
        "--plans",
        "--legacy-db",
        "--access-log",
        "--workers",
        "--connect-timeout",
        "--read-timeout",
        "--max-body",
        "--max-buffered-bodies",
        "--head-timeout",
    ):
        assert option in result.stdout


def test_the_proxy_process_runs_without_django(tmp_path):
    # runproxy execs `python -m proxy.server`: one PID, and no Django in the proxy's memory.
    with (
        recording_backend("legacy") as legacy,
        running_proxy(tmp_path, legacy_url=legacy.url, plans_dir=tmp_path) as proxy,
    ):
        cmdline = Path(f"/proc/{proxy.process.pid}/cmdline").read_bytes().split(b"\0")
    assert b"proxy.server" in cmdline
    assert b"manage.py" not in b" ".join(cmdline)
    # The database URL (it may hold a password) travels in the environment, not on argv.
    assert b"sqlite" not in b" ".join(cmdline)


def test_the_addon_also_runs_in_stock_mitmdump(tmp_path):
    port = free_port()
    mitmdump = Path(sys.executable).with_name("mitmdump")
    with recording_backend("legacy") as legacy:
        command = [
            str(mitmdump),
            "-q",
            *("-s", str(ROOT / "proxy" / "addon.py")),
            *("--mode", f"reverse:{legacy.url}"),
            *("--listen-host", "127.0.0.1", "-p", str(port)),
            *("--set", "keep_host_header=true"),
            *("--set", f"confdir={tmp_path / 'mitmproxy'}"),
            *("--set", f"ficus_plans={tmp_path}"),
            *("--set", f"ficus_access_log={tmp_path / 'access.log'}"),
        ]
        env = {**os.environ, "HOME": str(tmp_path)}
        process = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=subprocess.DEVNULL)
        try:
            wait_for_port(port, process=process)
            ok = httpx.get(f"http://127.0.0.1:{port}/api/patients?q=DOE", timeout=10)
            refused = raw_exchange(
                port, b"GET /a/%2Fb HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"
            )
        finally:
            process.terminate()
            process.wait(timeout=15)
    assert ok.json()["backend"] == "legacy"
    assert status_of(refused) == 400
    assert legacy.paths() == ["/api/patients?q=DOE"]
    lines = (tmp_path / "access.log").read_text().splitlines()
    assert [json.loads(x)["status"] for x in lines] == [200, 400]
