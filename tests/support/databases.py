"""Fresh, empty databases on real servers for tests that must prove portability.

SQLite is always available. PostgreSQL and MariaDB are the ones on this machine (see
.ci/run); their admin URLs can be overridden with FICUS_TEST_POSTGRES_URL and
FICUS_TEST_MARIADB_URL. A server that cannot be reached skips its tests, except when
FICUS_REQUIRE_DATABASES=1 (as in CI), where it fails them: a skipped test proves nothing.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.exc import OperationalError

ADMIN_URLS = {
    "postgresql": os.environ.get(
        "FICUS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    ),
    "mariadb": os.environ.get("FICUS_TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/"),
}
SERVER_BACKENDS = tuple(ADMIN_URLS)


def databases_required() -> bool:
    return os.environ.get("FICUS_REQUIRE_DATABASES", "") == "1"


def selected_server_backends() -> list[str]:
    raw = os.environ.get("FICUS_TEST_BACKENDS", ",".join(SERVER_BACKENDS))
    return [name for name in (part.strip() for part in raw.split(",")) if name in ADMIN_URLS]


@contextmanager
def fresh_database(backend: str, tmp_path: Path) -> Iterator[str]:
    """Yield the SQLAlchemy URL of a new empty database, and drop it afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'legacy.sqlite3'}"
        return
    admin_url = ADMIN_URLS[backend]
    name = f"ficus_t_{secrets.token_hex(6)}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            if backend == "mariadb":
                conn.execute(text(f"CREATE DATABASE {name} CHARACTER SET utf8mb4"))
            else:
                conn.execute(text(f"CREATE DATABASE {name}"))
    except OperationalError as e:
        admin.dispose()
        reason = f"{backend} at {make_url(admin_url).render_as_string()} is unreachable: {e.orig}"
        if databases_required():
            pytest.fail(f"FICUS_REQUIRE_DATABASES=1 and {reason}")
        pytest.skip(reason)
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            suffix = " WITH (FORCE)" if backend == "postgresql" else ""
            conn.execute(text(f"DROP DATABASE IF EXISTS {name}{suffix}"))
        admin.dispose()
