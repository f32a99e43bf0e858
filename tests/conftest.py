"""Fixtures shared by the whole suite.

`legacy_database_url` is a fresh empty legacy database: SQLite for ordinary tests, and each
real server backend (PostgreSQL, MariaDB) for tests marked `databases`.

Hypothesis runs under one of two profiles, chosen by FICUS_HYPOTHESIS_PROFILE: `ci` (the
default: a bounded, derandomized run, so `make test` is repeatable and quick) and `fuzz` (what
`make fuzz` sets: many more examples, a fresh seed each run). No example database is kept: a
failure is reported with its minimal example, which the test's corpus then pins.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from tests.support.databases import fresh_database, selected_server_backends

settings.register_profile(
    "ci",
    max_examples=60,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "fuzz",
    max_examples=20_000,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("FICUS_HYPOTHESIS_PROFILE", "ci"))


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
