"""Building the SQLAlchemy engine for the legacy database (called by commands, never at import).

Plain `postgresql://` and `mysql://` URLs are pointed at the drivers Ficus installs (psycopg 3,
PyMySQL) rather than SQLAlchemy's defaults (psycopg2, mysqlclient), so the same URL works for
Django's dj-database-url and for SQLAlchemy. `hide_parameters` keeps bound values (names, dates
of birth) out of exception messages and so out of logs. SQLite waits for a busy lock instead
of failing, because the legacy app writes to the same file.
"""

from __future__ import annotations

from sqlalchemy import URL, Engine, create_engine, make_url

_DEFAULT_DRIVERS = {
    "postgresql": "postgresql+psycopg",
    "mysql": "mysql+pymysql",
    "mariadb": "mariadb+pymysql",
}
SQLITE_BUSY_TIMEOUT_S = 30


def legacy_url(url: str | URL) -> URL:
    parsed = make_url(url)
    return parsed.set(drivername=_DEFAULT_DRIVERS.get(parsed.drivername, parsed.drivername))


def create_legacy_engine(url: str | URL) -> Engine:
    parsed = legacy_url(url)
    if parsed.get_backend_name() == "sqlite":
        return create_engine(
            parsed, hide_parameters=True, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S}
        )
    return create_engine(parsed, hide_parameters=True, pool_pre_ping=True)
