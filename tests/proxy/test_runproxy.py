"""`manage.py runproxy` end to end: a real proxy process between real loopback backends.

Two recording backends stand for the legacy app and the appointments service; the shipped
appointments plan diverts `GET /api/appointments/{id:int}` through FICUS_UPSTREAM_APPOINTMENTS.
Two more plans point at a backend that answers garbage and at a port where nothing listens.
The legacy database is a real SQLite file with the personas' sessions.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from proxy.identity import IDENTITY_HEADER, verify_identity
from tests.proxy.personas import seed_sessions
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
            }


@pytest.fixture
def w(world):
    world["legacy"].clear()
    world["service"].clear()
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
    assert b"not allowed" in raw or b"not valid" in raw
    assert w["service"].requests == []
    assert w["legacy"].requests == []


def test_a_clinician_reaches_the_service_with_a_valid_identity(w):
    response = w["client"].get(
        "/api/appointments/7", headers={"Cookie": f"SESSID={w['sessions']['clinician']}"}
    )
    (received,) = w["service"].requests
    identity = verify_identity(received.header(IDENTITY_HEADER), KEY.encode(), now=time.time())
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
    assert (
        verify_identity(operator.header(IDENTITY_HEADER), KEY.encode(), time.time()).role == "OPER"
    )
    for received in (outsider, operator, legacy):
        assert received.header("X-Ficus-Dry-Run") is None


def test_upstream_garbage_gives_a_generic_502(w):
    response = w["client"].get("/api/garbage/1")
    assert response.status_code == 502
    assert b"DOE" not in response.content
    assert b"900-12-3456" not in response.content
    assert b"Bad HTTP" not in response.content
    line = w["proxy"].log_lines()[-1]
    assert (line["route"], line["status"], line["error"]) == (
        "/api/garbage/{id:int}",
        502,
        "upstream_failed",
    )


def test_an_unreachable_upstream_gives_a_generic_502(w):
    response = w["client"].get("/api/down/1")
    assert response.status_code == 502
    assert b"127.0.0.1" not in response.content
    assert b"refused" not in response.content.lower()


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
    (plans / "appointments.yaml").write_text(
        (SHIPPED_PLANS / "appointments.yaml").read_text().replace("{id:int}", "{id:integer}")
    )
    with (
        pytest.raises(RuntimeError) as info,
        running_proxy(tmp_path, legacy_url="http://127.0.0.1:1", plans_dir=plans),
    ):
        pass
    assert "appointments.yaml:13: routes[0].path: '{id:integer}'" in str(info.value)


def test_a_service_route_without_an_identity_key_stops_the_proxy_from_starting(tmp_path):
    env = {"FICUS_IDENTITY_KEY": ""}
    with (
        pytest.raises(RuntimeError) as info,
        running_proxy(tmp_path, legacy_url="http://127.0.0.1:1", env=env),
    ):
        pass
    assert "FICUS_IDENTITY_KEY" in str(info.value)


def test_help_documents_every_option_and_no_workers():
    result = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "runproxy", "--help"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert result.returncode == 0
    for option in ("--host", "--port", "--legacy", "--plans", "--legacy-db", "--access-log"):
        assert option in result.stdout
    assert "--workers" not in result.stdout


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
