"""Fault isolation with real processes: killing one service leaves the other and legacy up.

The legacy app (`python -m demo.legacy serve`), `manage.py runservice appointments` and
`manage.py runservice patients` run on free loopback ports over one seeded legacy database and
two service databases filled from it. One service is then SIGKILLed (no graceful anything),
and the other service and the legacy app must keep answering real requests, while the killed
one's port refuses connections. Each direction is a case, so neither service depends on the
other.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, text

from tests.extracted.identities import KEY, headers_for
from tests.support.ports import LOOPBACK, free_port, port_is_open, wait_for_port

pytestmark = pytest.mark.e2e

MANAGE = str(Path(__file__).resolve().parents[2] / "manage.py")
FILL_PATIENTS = """
from sqlalchemy import create_engine, text
from django.conf import settings
from extracted.patients.services import apply_legacy_patients
from legacy_adapter.mapping.patients import PATIENT_MASTER_COLUMNS, patient_from_legacy
engine = create_engine(settings.LEGACY_DATABASE_URL)
with engine.connect() as conn:
    rows = conn.execute(text(f"SELECT {', '.join(PATIENT_MASTER_COLUMNS)} FROM PATIENT_MASTER"))
    records = [patient_from_legacy({k.upper(): v for k, v in r._mapping.items()}) for r in rows]
print(apply_legacy_patients(records=records))
"""


@dataclass
class Running:
    processes: dict[str, subprocess.Popen[bytes]]
    urls: dict[str, str]


def run(env: dict[str, str], *args: str) -> None:
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, f"{args}: {done.stderr[-2000:]}"


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Running]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FICUS_", "DJANGO_"))}
    legacy_url = f"sqlite:///{tmp_path / 'legacy.sqlite3'}"
    env.update(
        FICUS_VAR_DIR=str(tmp_path),
        FICUS_DB_DEFAULT_URL=f"sqlite:///{tmp_path / 'control.sqlite3'}",
        FICUS_DB_APPOINTMENTS_URL=f"sqlite:///{tmp_path / 'appointments.sqlite3'}",
        FICUS_DB_PATIENTS_URL=f"sqlite:///{tmp_path / 'patients.sqlite3'}",
        LEGACY_DATABASE_URL=legacy_url,
        FICUS_IDENTITY_KEY=KEY,
        FICUS_PHI_KEY=Fernet.generate_key().decode(),
    )
    py = sys.executable
    run(env, py, "-m", "demo.legacy", "--database-url", legacy_url, "init-db", "--patients",
        "50", "--appointments", "200", "--anchor", "20261116")  # fmt: skip
    engine = create_engine(legacy_url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO USER_SESSION (SESS_ID, USER_ID, ROLE_CD, EXPIRES_TS)"
                " SELECT 'sess-e2e', USER_ID, ROLE_CD, '29991231000000' FROM APP_USER"
                " WHERE LOGIN_NM = 'clinician'"
            )
        )
    engine.dispose()
    for alias in ("appointments", "patients"):
        run(env, py, MANAGE, "migrate", "--database", alias, "-v", "0")
    run(env, py, MANAGE, "sync", "backfill", "appointments")
    run(env, py, MANAGE, "shell", "-c", FILL_PATIENTS)

    ports = {"legacy": free_port(), "appointments": free_port(), "patients": free_port()}
    commands = {
        "legacy": [py, "-m", "demo.legacy", "--database-url", legacy_url, "serve", "--port",
                   str(ports["legacy"]), "--workers", "1"],
        "appointments": [py, MANAGE, "runservice", "appointments", "--port",
                         str(ports["appointments"]), "--workers", "1"],
        "patients": [py, MANAGE, "runservice", "patients", "--port", str(ports["patients"]),
                     "--workers", "1"],
    }  # fmt: skip
    processes: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for name, command in commands.items():
            log = (tmp_path / f"{name}.log").open("wb")
            processes[name] = subprocess.Popen(
                command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
            log.close()
        for name, port in ports.items():
            wait_for_port(port, process=processes[name], timeout=60)
        yield Running(processes, {n: f"http://{LOOPBACK}:{p}" for n, p in ports.items()})
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def legacy_answers(running: Running) -> None:
    status, body = get(f"{running.urls['legacy']}/api/patients/1", {"Cookie": "SESSID=sess-e2e"})
    assert status == 200
    assert json.loads(body)["PAT_ID"] == 1


def service_answers(running: Running, name: str) -> None:
    path = {"appointments": "/api/appointments/1", "patients": "/api/patients/1"}[name]
    status, body = get(
        running.urls[name] + path, headers_for("clinician", method="GET", target=path)
    )
    assert status == 200, body
    legacy_path = running.urls["legacy"] + path
    assert body == get(legacy_path, {"Cookie": "SESSID=sess-e2e"})[1]


def sigkill(running: Running, name: str) -> None:
    process = running.processes[name]
    # The whole process group: the gunicorn master and its worker die at once, as in a crash.
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    # The worker is reaped by init a moment after the master; wait until the listener is gone.
    port = int(running.urls[name].rsplit(":", 1)[1])
    deadline = time.monotonic() + 30
    while port_is_open(port) and time.monotonic() < deadline:
        time.sleep(0.1)


@pytest.mark.parametrize(("killed", "survivor"), [("appointments", "patients"),
                                                  ("patients", "appointments")])  # fmt: skip
def test_killing_one_service_leaves_the_other_and_legacy_answering(running, killed, survivor):
    for name in ("appointments", "patients"):
        service_answers(running, name)
    legacy_answers(running)

    sigkill(running, killed)

    port = int(running.urls[killed].rsplit(":", 1)[1])
    assert not port_is_open(port)
    for _ in range(5):  # repeatedly, so a lingering effect of the crash would show up
        service_answers(running, survivor)
        legacy_answers(running)
    assert running.processes[survivor].poll() is None
