"""Database access the 2008 way: hand-written SQL strings run through SQLAlchemy Core `text()`.

Every statement binds its values as parameters (`:name`), never by formatting them into the SQL;
that is why ruff's S608 is silenced for demo/. Identifiers are UPPER_CASE and unquoted, so
PostgreSQL hands column names back in lower case; `fetch_all`/`fetch_one` return dicts with
UPPER-CASE keys on every backend, and the rest of the app never sees the difference.

The few dialect differences live here and nowhere else:
- SQLite runs in WAL mode with a busy timeout, so gunicorn workers, the CLI and a sync worker can
  share one file. Write transactions start with `BEGIN IMMEDIATE`, which takes SQLite's single
  write lock up front: two bookings serialize instead of both passing the slot check.
- PostgreSQL and MariaDB run at READ COMMITTED (PostgreSQL's default; MariaDB's is REPEATABLE
  READ): every statement sees the latest committed rows, and InnoDB takes no gap locks on
  searches, which would otherwise deadlock bookings of neighbouring providers. Writes lock the
  rows they depend on with `SELECT ... FOR UPDATE` (see `for_update`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Engine, TextClause, create_engine, event, text
from sqlalchemy.engine import RowMapping, make_url
from sqlalchemy.pool import ConnectionPoolEntry

ENV_VAR = "LEGACY_DATABASE_URL"
DEFAULT_DATABASE_URL = "sqlite:///var/legacy.sqlite3"
SQLITE_BUSY_TIMEOUT_S = 30

Row = dict[str, Any]
Params = Mapping[str, Any]

# The execution option that asks for a SQLite write transaction (`BEGIN IMMEDIATE`).
_WRITE_OPTION = "legacy_write"


def database_url_from_env(environ: Mapping[str, str] | None = None) -> str:
    """`LEGACY_DATABASE_URL`, or the demo's SQLite file relative to the current directory."""
    env = os.environ if environ is None else environ
    return env.get(ENV_VAR) or DEFAULT_DATABASE_URL


def create_legacy_engine(url: str) -> Engine:
    """An engine for SQLite, PostgreSQL (`postgresql+psycopg://`) or MariaDB (`mysql+pymysql://`).

    `hide_parameters` keeps bound values (names, SSNs, search terms) out of exception messages,
    and so out of every log line and traceback.
    """
    if make_url(url).get_backend_name() != "sqlite":
        return create_engine(
            url, hide_parameters=True, pool_pre_ping=True, isolation_level="READ COMMITTED"
        )
    engine = create_engine(
        url, hide_parameters=True, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S}
    )
    event.listen(engine, "connect", _sqlite_on_connect)
    event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def _sqlite_on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    # Take transaction control away from the sqlite3 module, which would not BEGIN before a
    # SELECT; `_sqlite_on_begin` emits BEGIN itself (the recipe in SQLAlchemy's SQLite docs).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_S * 1000}")
        cursor.execute("PRAGMA synchronous=NORMAL")  # durable enough in WAL mode, much faster
    finally:
        cursor.close()


def _sqlite_on_begin(conn: Connection) -> None:
    if conn.get_execution_options().get(_WRITE_OPTION):
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.exec_driver_sql("BEGIN")


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction that may write; commits on success, rolls back on error."""
    with engine.connect() as conn:
        conn.execution_options(**{_WRITE_OPTION: True})
        with conn.begin():
            yield conn


def is_sqlite(conn: Connection) -> bool:
    return conn.dialect.name == "sqlite"


def for_update(conn: Connection) -> str:
    """The row-locking suffix for a SELECT; SQLite has none and relies on BEGIN IMMEDIATE."""
    return "" if is_sqlite(conn) else " FOR UPDATE"


@lru_cache(maxsize=256)
def _sql(statement: str) -> TextClause:
    return text(statement)


def _upper(row: RowMapping) -> Row:
    return {str(key).upper(): value for key, value in row.items()}


def fetch_all(conn: Connection, statement: str, params: Params | None = None) -> list[Row]:
    """All rows as dicts keyed by UPPER-CASE column name."""
    result = conn.execute(_sql(statement), dict(params or {}))
    return [_upper(row) for row in result.mappings()]


def fetch_one(conn: Connection, statement: str, params: Params | None = None) -> Row | None:
    """The first row as an UPPER-CASE dict, or None."""
    row = conn.execute(_sql(statement), dict(params or {})).mappings().first()
    return None if row is None else _upper(row)


def fetch_value(conn: Connection, statement: str, params: Params | None = None) -> Any:
    """The first column of the first row, or None."""
    return conn.execute(_sql(statement), dict(params or {})).scalar()


def execute(conn: Connection, statement: str, params: Params | None = None) -> int:
    """Run one statement; returns the number of rows it touched."""
    return conn.execute(_sql(statement), dict(params or {})).rowcount


def execute_many(conn: Connection, statement: str, rows: Sequence[Params]) -> None:
    """One statement, many parameter sets: the DBAPI's executemany, for batch inserts."""
    if rows:
        conn.execute(_sql(statement), list(rows))


def next_id(conn: Connection, seq_nm: str) -> int:
    """Allocate one id from LEGACY_SEQ inside the caller's transaction.

    NEXT_VAL is the next id to hand out. The UPDATE comes first so that, on the servers, it takes
    the row lock before anything is read; the id is the value before the increment.
    """
    touched = execute(
        conn, "UPDATE LEGACY_SEQ SET NEXT_VAL = NEXT_VAL + 1 WHERE SEQ_NM = :seq", {"seq": seq_nm}
    )
    if touched != 1:
        raise LookupError(f"LEGACY_SEQ has no row {seq_nm!r}; run init-db")
    value = fetch_value(
        conn, "SELECT NEXT_VAL FROM LEGACY_SEQ WHERE SEQ_NM = :seq", {"seq": seq_nm}
    )
    return int(value) - 1
