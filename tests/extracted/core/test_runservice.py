"""`manage.py runservice appointments` serves the service with gunicorn, as a real process.

The service database is a temp SQLite file filled the real way: the legacy tables get a few
rows, `manage.py sync backfill appointments` copies them, then the service is started and
asked for an appointment with a signed identity header.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from sqlalchemy import create_engine

from tests.extracted.identities import KEY, headers_for
from tests.legacy_adapter.legacy_db import (
    add_appointments,
    add_patient,
    appointment_row,
    create_legacy_schema,
)
from tests.support.ownership import plans_with_writes_in
from tests.support.ports import LOOPBACK, free_port, wait_for_port

MANAGE = str(Path(__file__).resolve().parents[3] / "manage.py")


def service_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """A service process's environment; its plans have the writes migrated (the service owns
    every record, see tests.support.ownership) unless `FICUS_PLANS_DIR` is given."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FICUS_", "DJANGO_"))}
    env.update(
        FICUS_PLANS_DIR=str(plans_with_writes_in(tmp_path / "plans", "migrated")),
        FICUS_VAR_DIR=str(tmp_path),
        FICUS_DB_DEFAULT_URL=f"sqlite:///{tmp_path / 'control.sqlite3'}",
        FICUS_DB_APPOINTMENTS_URL=f"sqlite:///{tmp_path / 'appointments.sqlite3'}",
        LEGACY_DATABASE_URL=f"sqlite:///{tmp_path / 'legacy.sqlite3'}",
        FICUS_IDENTITY_KEY=KEY,
    )
    env.update(extra)
    return env


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, MANAGE, *args], env=env, capture_output=True, text=True, timeout=120
    )


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


@pytest.fixture
def served(tmp_path):
    env = service_env(tmp_path)
    legacy = create_engine(env["LEGACY_DATABASE_URL"])
    create_legacy_schema(legacy)
    add_patient(legacy, 1, "DOE", "JANE")
    add_appointments(legacy, [appointment_row(1), appointment_row(2, STATUS_CD="C")])
    legacy.dispose()
    migrated = manage(env, "migrate", "--database", "appointments", "-v", "0")
    assert migrated.returncode == 0, migrated.stderr
    copied = manage(env, "sync", "backfill", "appointments")
    assert copied.returncode == 0, copied.stderr
    assert "read 2, applied 2" in copied.stdout

    with service_process(env, tmp_path, workers=1) as started:
        yield started


@contextmanager
def service_process(
    env: dict[str, str], tmp_path: Path, *, workers: int
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """`runservice appointments` on a free port, logging to service.log; killed if left running."""
    port = free_port()
    log = (tmp_path / "service.log").open("w")
    process = subprocess.Popen(
        [sys.executable, MANAGE, "runservice", "appointments", "--port", str(port),
         "--workers", str(workers)],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        wait_for_port(port, process=process)
        yield process, f"http://{LOOPBACK}:{port}"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        log.close()


def test_it_serves_the_appointment_with_gunicorn_and_stops_on_sigterm(served, tmp_path):
    process, base = served

    status, _, body = get(f"{base}/__ficus/health")
    assert (status, json.loads(body)) == (200, {"status": "ok", "services": ["appointments"]})

    identity = headers_for("clinician", method="GET", target="/api/appointments/1")
    status, headers, body = get(f"{base}/api/appointments/1", identity)
    assert status == 200
    assert json.loads(body)["PAT_NM"] == "DOE, JANE"
    assert body.startswith(b'{"APPT_ID": 1, "PAT_ID": 1, "PAT_NM": "DOE, JANE"')
    assert headers["Content-Type"] == "application/json"
    assert headers["Server"] == "gunicorn"  # runserver would say WSGIServer/...

    status, _, body = get(f"{base}/api/appointments/1")
    assert (status, body) == (401, b'{"ERR": "NOT LOGGED IN", "CODE": 101}')

    # runservice replaced itself with gunicorn: the pid we started is the gunicorn master,
    # narrowed to this one service.
    cmdline = Path(f"/proc/{process.pid}/cmdline").read_bytes().split(b"\0")
    assert b"gunicorn" in cmdline
    assert b"extracted.wsgi:application" in cmdline
    environ = Path(f"/proc/{process.pid}/environ").read_bytes().split(b"\0")
    assert b"FICUS_SERVICE=appointments" in environ

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0
    log = (tmp_path / "service.log").read_text()
    assert "runservice: serving appointments with gunicorn" in log
    # Ficus's access log names the route template, never the id in the path.
    assert "GET /api/appointments/<legacy_id:appointment_id> 200" in log
    assert "/api/appointments/1 " not in log


def test_it_refuses_to_start_without_a_usable_identity_key(tmp_path):
    for key in ("", "too-short"):
        result = manage(service_env(tmp_path, FICUS_IDENTITY_KEY=key), "runservice", "appointments")

        assert result.returncode == 1
        assert "FICUS_IDENTITY_KEY is unset or shorter than 32 bytes" in result.stderr
        assert "gunicorn" not in result.stdout


def test_an_unknown_service_is_refused_with_the_list_of_services():
    # Safe in-process: the name is checked before anything could exec.
    with pytest.raises(
        CommandError, match=r"unknown service 'billing'; the services are: appointments"
    ):
        call_command("runservice", "billing")


def test_sigint_stops_it_at_once_and_cleanly(tmp_path):
    port = free_port()
    log = (tmp_path / "service.log").open("w")
    # The health check touches no database, so an unmigrated service can answer it.
    process = subprocess.Popen(
        [sys.executable, MANAGE, "runservice", "appointments", "--port", str(port),
         "--workers", "1"],
        env=service_env(tmp_path), stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        wait_for_port(port, process=process)
        assert get(f"http://{LOOPBACK}:{port}/__ficus/health")[0] == 200

        process.send_signal(signal.SIGINT)

        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        log.close()


def test_it_serves_the_control_plane_api_alone_for_operators_and_auditors(tmp_path):
    env = service_env(tmp_path, FICUS_IDENTITY_KEY="")  # the control plane has its own tokens
    assert manage(env, "migrate", "--database", "default", "-v", "0").returncode == 0
    created = manage(env, "controlplane", "token", "create", "--user", "ops", "--role", "operator")
    assert created.returncode == 0, created.stderr
    token = created.stdout.splitlines()[0].split()[-1]
    port = free_port()
    log = (tmp_path / "control.log").open("w")
    process = subprocess.Popen(
        [sys.executable, MANAGE, "runservice", "control", "--port", str(port), "--workers", "1"],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        wait_for_port(port, process=process)
        base = f"http://{LOOPBACK}:{port}"
        refused = get(f"{base}/control/v1/routes")
        assert refused[0] == 401  # the outsider
        assert refused[1]["Cache-Control"] == "no-store"
        status, headers, body = get(
            f"{base}/control/v1/routes", {"Authorization": f"Token {token}"}
        )
        assert status == 200, body
        assert headers["Cache-Control"] == "no-store"  # route states: never cached
        assert b"/api/appointments" in body
        # No service is served by this process.
        assert get(f"{base}/api/appointments/1")[0] == 404
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
        log.close()


def test_the_patients_service_refuses_to_start_without_its_phi_key(tmp_path):
    result = manage(service_env(tmp_path, FICUS_PHI_KEY=""), "runservice", "patients")

    assert result.returncode == 1
    assert "patients: FICUS_PHI_KEY is not set" in result.stderr
    assert "gunicorn" not in result.stdout
