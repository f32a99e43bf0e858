"""Fixtures for the legacy app: a seeded SQLite file per test, a fixed clock, and the personas.

Seeding (and hashing six demo passwords) happens once per session into a template file; each
test gets its own copy in tmp_path, so tests may write freely and never see each other's data.
Personas: clinician (CLIN, provider 1), operator (OPER), auditor (AUDIT), scheduler, billing,
admin, and the outsider who has no session at all.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from demo.legacy.app import create_app
from demo.legacy.db import create_legacy_engine, fetch_one, write_transaction
from demo.legacy.ddl import create_schema
from demo.legacy.seed import SeedSpec, seed_database
from tests.demo.legacy.client import Client

ANCHOR = date(2026, 11, 20)  # a Friday
NOW = datetime(2026, 11, 20, 10, 0, 0, tzinfo=UTC)
SATURDAY = "20261121"  # the seed books nobody on weekends: a clean day for booking tests
SMALL = SeedSpec(anchor=ANCHOR, seed=42, patients=300, appointments=3_000, providers=8)


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def query_one(engine: Engine, sql: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    """The one row a test expects to exist."""
    with engine.connect() as conn:
        row = fetch_one(conn, sql, params)
    assert row is not None, sql
    return row


def seed_sqlite(path: Path, spec: SeedSpec) -> None:
    engine = create_legacy_engine(f"sqlite:///{path}")
    try:
        with write_transaction(engine) as conn:
            create_schema(conn)
            seed_database(conn, spec)
    finally:
        engine.dispose()  # the last close checkpoints the WAL into the main file


@pytest.fixture(scope="session")
def seeded_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "legacy.sqlite3"
    seed_sqlite(path, SMALL)
    return path


@pytest.fixture
def db_url(tmp_path: Path, seeded_template: Path) -> str:
    target = tmp_path / "legacy.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        source = Path(f"{seeded_template}{suffix}")
        if source.exists():
            shutil.copyfile(source, f"{target}{suffix}")
    return f"sqlite:///{target}"


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = create_legacy_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def app(engine: Engine, clock: FakeClock):
    return create_app(engine, clock=clock)


def _logged_in(app, login: str) -> Client:
    client = Client(app)
    response = client.login(login)
    assert response.status == 302, f"{login} could not log in"
    return client


@pytest.fixture
def clinician(app) -> Client:
    return _logged_in(app, "clinician")


@pytest.fixture
def operator(app) -> Client:
    return _logged_in(app, "operator")


@pytest.fixture
def auditor(app) -> Client:
    return _logged_in(app, "auditor")


@pytest.fixture
def scheduler(app) -> Client:
    return _logged_in(app, "scheduler")


@pytest.fixture
def billing(app) -> Client:
    return _logged_in(app, "billing")


@pytest.fixture
def admin(app) -> Client:
    return _logged_in(app, "admin")


@pytest.fixture
def outsider(app) -> Client:
    return Client(app)
