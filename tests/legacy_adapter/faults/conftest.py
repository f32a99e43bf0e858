from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.legacy_adapter.faults.rig import Rig, build_template
from tests.support.databases import fresh_database
from tests.support.sync_stack import SyncStack


@pytest.fixture(scope="session")
def service_template(tmp_path_factory):
    return build_template(tmp_path_factory.mktemp("sync-service-template"))


@pytest.fixture
def rig(tmp_path, service_template):
    built = Rig(tmp_path, service_template)
    built.install()
    yield built
    built.close()


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[SyncStack]:
    """A real stack of the appointments feature on SQLite (tests.support.sync_stack)."""
    built = SyncStack(tmp_path)
    try:
        yield built
    finally:
        built.close()


# SQLite in `make test`; PostgreSQL and MariaDB in CI's database stage (`-m databases`).
ON_EACH_BACKEND = [
    "sqlite",
    pytest.param("postgresql", marks=pytest.mark.databases),
    pytest.param("mariadb", marks=pytest.mark.databases),
]


@pytest.fixture(params=ON_EACH_BACKEND)
def backend_stack(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SyncStack]:
    """The stack of the appointments feature with the legacy database on each backend."""
    with fresh_database(request.param, tmp_path) as url:
        built = SyncStack(tmp_path, legacy_url=url)
        try:
            yield built
        finally:
            built.close()


@pytest.fixture(params=ON_EACH_BACKEND)
def both_features_stack(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SyncStack]:
    """Both services and the worker, with the legacy database on each backend."""
    with fresh_database(request.param, tmp_path) as url:
        built = SyncStack(tmp_path, features=("appointments", "patients"), legacy_url=url)
        try:
            yield built
        finally:
            built.close()


@pytest.fixture
def server_stack(tmp_path: Path, legacy_database_url: str) -> Iterator[SyncStack]:
    """The same stack with the legacy database on each server backend (PostgreSQL, MariaDB)."""
    built = SyncStack(tmp_path, legacy_url=legacy_database_url)
    try:
        yield built
    finally:
        built.close()


__all__ = ["fresh_database"]
