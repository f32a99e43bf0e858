"""Fixtures for the patients service: a seeded legacy database, the service filled from it.

The legacy database is the demo seed (synthetic people, SSNs from the never-issued 9xx area),
made once per session into a template file and copied per test. The service's database is
filled from that same legacy database through the real mapping and the real sink
(`apply_legacy_patients`), as forward sync does. Each persona has a legacy session row, so the
same request can be asked of the legacy app (cookie) and of the service (signed header).
"""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from wsgiref.util import setup_testing_defaults

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import Engine

from demo.legacy.app import create_app
from demo.legacy.db import create_legacy_engine, execute, fetch_all, write_transaction
from demo.legacy.ddl import create_schema
from demo.legacy.seed import SeedSpec, seed_database
from extracted.core.legacy_db import reset_legacy_engines
from extracted.patients.models import Patient
from extracted.patients.services import apply_legacy_patients
from legacy_adapter import migrations
from legacy_adapter.mapping.patients import PATIENT_MASTER_COLUMNS, patient_from_legacy
from tests.extracted.identities import KEY, PERSONAS, headers_for

SPEC = SeedSpec(anchor=date(2026, 11, 20), seed=11, patients=400, appointments=10, providers=2)
PHI_KEY = Fernet.generate_key().decode()
CONTRACT_HEADERS = ("Content-Type", "Cache-Control", "Allow")


@pytest.fixture(scope="session")
def legacy_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("patients-template") / "legacy.sqlite3"
    engine = create_legacy_engine(f"sqlite:///{path}")
    with write_transaction(engine) as conn:
        create_schema(conn)
        seed_database(conn, SPEC)
        for persona, (_user_id, login, role) in PERSONAS.items():
            user_id = fetch_all(
                conn, "SELECT USER_ID FROM APP_USER WHERE LOGIN_NM = :l", {"l": login}
            )[0]["USER_ID"]
            execute(
                conn,
                "INSERT INTO USER_SESSION (SESS_ID, USER_ID, ROLE_CD, EXPIRES_TS)"
                " VALUES (:s, :u, :r, '29991231000000')",
                {"s": f"sess-{persona}", "u": user_id, "r": role},
            )
    migrations.upgrade(engine)  # capture installed, as `sync install` leaves it
    engine.dispose()
    return path


@pytest.fixture
def legacy_engine(tmp_path: Path, legacy_template: Path) -> Iterator[Engine]:
    target = tmp_path / "legacy.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        source = Path(f"{legacy_template}{suffix}")
        if source.exists():
            shutil.copyfile(source, f"{target}{suffix}")
    engine = create_legacy_engine(f"sqlite:///{target}")
    yield engine
    engine.dispose()


@pytest.fixture(autouse=True)
def service_settings(settings, tmp_path: Path, legacy_template: Path):
    settings.FICUS_IDENTITY_KEY = KEY
    settings.FICUS_PHI_KEY = PHI_KEY
    # The service looks for unapplied legacy writes of a record before it writes it, in its
    # own copy: the contract tests write the legacy app's copy too, which no sync drains here.
    own = tmp_path / "service-legacy.sqlite3"
    shutil.copyfile(legacy_template, own)
    settings.LEGACY_DATABASE_URL = f"sqlite:///{own}"
    yield settings
    reset_legacy_engines()


def legacy_rows(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return fetch_all(
            conn, f"SELECT {', '.join(PATIENT_MASTER_COLUMNS)} FROM PATIENT_MASTER ORDER BY PAT_ID"
        )


@pytest.fixture
def seeded(legacy_engine: Engine, service_settings) -> Engine:
    """The service's database filled from the legacy one (needs a django_db mark)."""
    result = apply_legacy_patients(
        records=[patient_from_legacy(r) for r in legacy_rows(legacy_engine)]
    )
    assert result.applied == SPEC.patients
    return legacy_engine


@pytest.fixture
def legacy_app(seeded: Engine):
    return create_app(seeded)


def ask_legacy(app, method: str, path: str, persona: str | None, body: bytes = b""):
    path, _, query = path.partition("?")
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "CONTENT_LENGTH": str(len(body)) if body else "",
        "wsgi.input": io.BytesIO(body),
    }
    if persona is not None:
        environ["HTTP_COOKIE"] = f"SESSID=sess-{persona}"
    setup_testing_defaults(environ)
    captured: dict[str, Any] = {}

    def start_response(status, headers, exc_info=None):
        captured["status"] = int(status.split()[0])
        captured["headers"] = dict(headers)

    data = b"".join(app(environ, start_response))
    headers = {name: captured["headers"].get(name) for name in CONTRACT_HEADERS}
    return captured["status"], data, headers


def ask_service(client, method: str, path: str, persona: str | None, body: bytes = b""):
    headers = headers_for(persona) if persona is not None else {}
    response = client.generic(
        method, path, data=body, content_type="application/json", headers=headers
    )
    picked = {name: response.headers.get(name) for name in CONTRACT_HEADERS}
    return response.status_code, response.content, picked


def as_json(value: Any) -> bytes:
    return json.dumps(value).encode()


def add_service_patient(pat_id: int = 17, **changes: Any):
    """One patient straight into the service's database (for tests that need no legacy side)."""

    fields: dict[str, Any] = {
        "mrn": f"M{pat_id:07d}", "family_name": "DOE", "given_name": "JANE",
        "birth_date": date(1980, 2, 29), "sex": "female", "ssn": "912-34-5678",
        "phone": "(312) 555-0142", "address_line": "12 ELM ST", "city": "OAKTON",
        "state": "IL", "postal_code": "60601",
        "source_updated_at": datetime(2026, 11, 20, 8, 30, tzinfo=UTC),
    }  # fmt: skip
    return Patient.objects.create(id=pat_id, **{**fields, **changes})
