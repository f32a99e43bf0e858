"""Alembic environment for Ficus's own tables inside the legacy database.

The generic env.py shape, with three Ficus rules:
  * `target_metadata` is `ficus_metadata` only, and `include_object` hides the legacy tables
    (and strangers' tables) from the comparison, so autogenerate never proposes to alter or
    drop anything the legacy app owns;
  * the version table is `ficus_alembic_version`, so Ficus adds nothing but `ficus_*` tables;
  * the database comes from, in order: a connection passed in `config.attributes["connection"]`
    (how legacy_adapter.migrations runs it), a URL in `config.attributes["url"]`, the
    `sqlalchemy.url` option, then the LEGACY_DATABASE_URL environment variable.

CLI use: `LEGACY_DATABASE_URL=sqlite:///var/legacy.sqlite3 alembic -c legacy_adapter/alembic.ini
upgrade head` (or `check`); Ficus's own entry point is `manage.py sync install`.
"""

from __future__ import annotations

import os
from logging.config import fileConfig

from alembic import context
from sqlalchemy import Connection, create_engine, pool

from legacy_adapter.ficus_tables import VERSION_TABLE, ficus_metadata, include_object

config = context.config

if config.config_file_name is not None and not config.attributes.get("skip_logging_config"):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = ficus_metadata


def _database_url() -> str:
    url = config.attributes.get("url") or config.get_main_option("sqlalchemy.url")
    url = url or os.environ.get("LEGACY_DATABASE_URL")
    if not url:
        raise RuntimeError(
            "no legacy database given: set LEGACY_DATABASE_URL or sqlalchemy.url in alembic.ini"
        )
    return str(url)


def _configure(**kwargs: object) -> None:
    context.configure(
        target_metadata=target_metadata,
        include_object=include_object,
        version_table=VERSION_TABLE,
        compare_type=True,
        **kwargs,  # type: ignore[arg-type]
    )


def run_migrations_offline() -> None:
    """Emit the SQL instead of running it (`alembic upgrade head --sql`)."""
    _configure(url=_database_url(), literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def _run(connection: Connection) -> None:
    _configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_engine(_database_url(), poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            _run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
