"""The same requests against the legacy app and the appointments service give the same answers.

The legacy app runs in-process as the WSGI application it is (demo/legacy), over a legacy
SQLite database; the service's database is filled from it by the real forward copy. Each case
is then asked of both: the legacy app with a legacy session cookie, the service with the
identity header the proxy would derive from that session. Status, body bytes and the contract
headers must match.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any
from wsgiref.util import setup_testing_defaults

import pytest
from sqlalchemy import create_engine, insert

from demo.legacy.app import create_app
from extracted.appointments.services import apply_legacy_appointments
from legacy_adapter import migrations
from legacy_adapter.forward_copy import Backfill
from legacy_adapter.mapping import appointments
from legacy_adapter.schema import AppUser, UserSession
from legacy_adapter.sources import legacy_source
from tests.extracted.identities import KEY, PERSONAS, headers_for
from tests.legacy_adapter.legacy_db import (
    add_appointments,
    add_patient,
    appointment_row,
    create_legacy_schema,
)

pytestmark = pytest.mark.django_db(databases=["default", "appointments"])

NOW = datetime.now(UTC)
CONTRACT_HEADERS = ("Content-Type", "Cache-Control", "Allow")


@pytest.fixture
def legacy_app(legacy_database_url, settings):
    settings.FICUS_IDENTITY_KEY = KEY
    settings.FICUS_HOSPITAL_TZ = "America/Chicago"
    engine = create_engine(legacy_database_url)
    create_legacy_schema(engine)
    migrations.upgrade(engine)
    add_patient(engine, 1, "DOE", "JANE")
    add_patient(engine, 2, "NGUYỄN", "ÉLODIE")  # non-ASCII: the escapes must match too
    add_appointments(
        engine,
        [
            appointment_row(1),
            appointment_row(2, PAT_ID=2, STATUS_CD="C", REASON_TXT=None),
            appointment_row(3, PAT_ID=404, REASON_TXT=""),  # no such patient row
            appointment_row(7, APPT_DT="20261101", APPT_TM="0130", STATUS_CD="A"),  # fall back
            appointment_row(8, APPT_TM="2359", DUR_MIN=240, STATUS_CD="N"),
        ],
    )
    expires = (NOW + timedelta(hours=8)).strftime("%Y%m%d%H%M%S")
    with engine.begin() as conn:
        for persona, (user_id, login, role) in PERSONAS.items():
            conn.execute(
                insert(AppUser.__table__),  # type: ignore[arg-type]
                {"USER_ID": user_id, "LOGIN_NM": login, "PWD_HASH": "x", "FULL_NM": login,
                 "ROLE_CD": role, "PROV_ID": None, "ACTIVE_FLG": "Y"},
            )  # fmt: skip
            conn.execute(
                insert(UserSession.__table__),  # type: ignore[arg-type]
                {"SESS_ID": f"sess-{persona}", "USER_ID": user_id, "ROLE_CD": role,
                 "EXPIRES_TS": expires},
            )  # fmt: skip
    report = Backfill(
        engine, legacy_source(appointments.source("America/Chicago")), apply_legacy_appointments
    ).run()
    assert (report.read, report.failed) == (5, 0)
    yield create_app(engine)
    engine.dispose()


def ask_legacy(app, method: str, path: str, persona: str | None):
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "wsgi.input": io.BytesIO(),
    }
    if persona is not None:
        environ["HTTP_COOKIE"] = f"SESSID=sess-{persona}"
    setup_testing_defaults(environ)
    captured: dict[str, Any] = {}

    def start_response(status, headers, exc_info=None):
        captured["status"] = int(status.split()[0])
        captured["headers"] = dict(headers)

    body = b"".join(app(environ, start_response))
    headers = {name: captured["headers"].get(name) for name in CONTRACT_HEADERS}
    return captured["status"], body, headers


def ask_service(client, method: str, path: str, persona: str | None):
    headers = headers_for(persona) if persona is not None else {}
    response = client.generic(method, path, headers=headers)
    picked = {name: response.headers.get(name) for name in CONTRACT_HEADERS}
    return response.status_code, response.content, picked


CASES = [
    ("GET", "/api/appointments/1", "clinician"),
    ("GET", "/api/appointments/2", "scheduler"),
    ("GET", "/api/appointments/3", "billing"),
    ("GET", "/api/appointments/7", "admin"),
    ("GET", "/api/appointments/8", "clinician"),
    ("GET", "/api/appointments/0007", "clinician"),
    ("GET", "/api/appointments/5", "clinician"),
    ("GET", "/api/appointments/99999999999", "clinician"),
    ("GET", "/api/appointments/" + "1" * 40, "clinician"),
    ("GET", "/api/appointments/1", "auditor"),
    ("GET", "/api/appointments/1", "operator"),
    ("GET", "/api/appointments/1", None),
    ("GET", "/api/appointments/abc", None),
    ("GET", "/api/appointments/abc", "clinician"),
    ("GET", "/api/appointments/1/", "clinician"),
    ("POST", "/api/appointments/1", "clinician"),
    ("DELETE", "/api/appointments/1", None),
    ("PATCH", "/api/appointments/1", "auditor"),
]


@pytest.mark.parametrize(("method", "path", "persona"), CASES, ids=lambda v: str(v)[:24])
def test_the_service_answers_like_the_legacy_app(legacy_app, client, method, path, persona):
    legacy = ask_legacy(legacy_app, method, path, persona)
    service = ask_service(client, method, path, persona)

    assert service == legacy
