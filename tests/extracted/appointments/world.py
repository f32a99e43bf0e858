"""Two hospitals from one seed: the legacy app and the appointments service, side by side.

`golden_legacy_db` builds one legacy SQLite file from the legacy app's own DDL and
deterministic seed (demo/legacy/seed.py), with a live session per persona. Every test then
gets two fresh *copies* of it: one is the legacy app's database; the other is the legacy
database the service sees (patients, providers, LEGACY_SEQ), and the service's own database is
filled from that copy by the real forward copy (legacy_adapter/forward_copy.py). Both sides
start equal, so a write case can run against both and expect the same ids.

The legacy app runs in-process as the WSGI application it is; the service is asked through
Django's test client with the identity header the proxy derives from the same session.
"""

from __future__ import annotations

import io
import json
import shutil
import sqlite3
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from wsgiref.util import setup_testing_defaults

from sqlalchemy import create_engine, text

from demo.legacy import ddl, seed
from demo.legacy.app import create_app
from extracted.appointments.services import apply_legacy_appointments
from legacy_adapter import migrations
from legacy_adapter.forward_copy import Backfill
from legacy_adapter.mapping import appointments
from legacy_adapter.sources import legacy_source
from tests.extracted.identities import PERSONAS, headers_for

ZONE = "America/Chicago"
SPEC = seed.SeedSpec(anchor=date(2026, 11, 23), seed=7, patients=40, appointments=200, providers=3)
CONTRACT_HEADERS = ("Content-Type", "Cache-Control", "Allow", "Content-Length")


def build_golden(path: Path) -> Path:
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        ddl.create_schema(conn)
        seed.seed_database(conn, SPEC)
        for persona, (user_id, _login, role) in PERSONAS.items():
            conn.execute(
                text(
                    "INSERT INTO USER_SESSION (SESS_ID, USER_ID, ROLE_CD, EXPIRES_TS)"
                    " VALUES (:sid, :uid, :role, '20991231000000')"
                ),
                {"sid": f"sess-{persona}", "uid": user_id, "role": role},
            )
    migrations.upgrade(engine)  # Ficus's own tables in the legacy database, as `sync` makes them
    engine.dispose()
    return path


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    headers: dict[str, str | None]

    def json(self) -> Any:
        return json.loads(self.body)


def query(path: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as conn:
        return conn.execute(sql, params).fetchall()


class World:
    def __init__(self, golden: Path, directory: Path, client: Any) -> None:
        self.legacy_path = directory / "legacy.sqlite3"
        self.service_legacy_path = directory / "service-legacy.sqlite3"
        shutil.copyfile(golden, self.legacy_path)
        shutil.copyfile(golden, self.service_legacy_path)
        self.legacy_engine = create_engine(f"sqlite:///{self.legacy_path}")
        self.app = create_app(self.legacy_engine)
        self.client = client

    @property
    def service_legacy_url(self) -> str:
        return f"sqlite:///{self.service_legacy_path}"

    def copy_forward(self, zone: str = ZONE) -> None:
        engine = create_engine(self.service_legacy_url)
        try:
            report = Backfill(
                engine, legacy_source(appointments.source(zone)), apply_legacy_appointments
            ).run()
        finally:
            engine.dispose()
        assert report.failed == 0, report.summary()

    def close(self) -> None:
        self.legacy_engine.dispose()

    def ask_legacy(
        self, method: str, target: str, persona: str | None, body: bytes | None = None
    ) -> Answer:
        parts = urlsplit(target)
        raw = body or b""
        environ: dict[str, Any] = {
            "REQUEST_METHOD": method,
            "PATH_INFO": parts.path,
            "QUERY_STRING": parts.query,
            "wsgi.input": io.BytesIO(raw),
            "CONTENT_LENGTH": str(len(raw)),
        }
        if body is not None:
            environ["CONTENT_TYPE"] = "application/json"
        if persona is not None:
            environ["HTTP_COOKIE"] = f"SESSID=sess-{persona}"
        setup_testing_defaults(environ)
        captured: dict[str, Any] = {}

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None):
            captured["status"] = int(status.split()[0])
            captured["headers"] = dict(headers)

        content = b"".join(self.app(environ, start_response))
        picked = {name: captured["headers"].get(name) for name in CONTRACT_HEADERS}
        return Answer(captured["status"], content, picked)

    def ask_service(
        self,
        method: str,
        target: str,
        persona: str | None,
        body: bytes | None = None,
        extra_headers: dict[str, str] | None = None,
    ) -> Answer:
        headers = headers_for(persona) if persona is not None else {}
        headers.update(extra_headers or {})
        kwargs: dict[str, Any] = {"headers": headers}
        if body is not None:
            kwargs.update(data=body, content_type="application/json")
        response = self.client.generic(method, target, **kwargs)
        picked = {name: response.headers.get(name) for name in CONTRACT_HEADERS}
        return Answer(response.status_code, response.content, picked)


def masked(body: bytes, volatile: frozenset[str]) -> Any:
    """The JSON body with the values of volatile fields replaced, key order kept."""
    try:
        return json.loads(body, object_pairs_hook=lambda pairs: [
            (key, "<volatile>" if key in volatile else value) for key, value in pairs
        ])  # fmt: skip
    except ValueError:
        return body
