"""Fixtures shared by the whole suite.

`legacy_database_url` is a fresh empty legacy database: SQLite for ordinary tests, and each
real server backend (PostgreSQL, MariaDB) for tests marked `databases`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.databases import fresh_database, selected_server_backends


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "legacy_database_url" not in metafunc.fixturenames:
        return
    on_servers = metafunc.definition.get_closest_marker("databases") is not None
    backends = selected_server_backends() if on_servers else ["sqlite"]
    metafunc.parametrize("legacy_database_url", backends, indirect=True)


@pytest.fixture
def legacy_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with fresh_database(request.param, tmp_path) as url:
        yield url
