"""Run and check Ficus's Alembic migrations on a legacy database, from code.

`upgrade()` installs or updates the `ficus_*` tables; `check()` lists what autogenerate would
change (an empty list means the database matches `ficus_metadata` and no legacy table would be
touched). The Alembic config is built in code from the package's own directory, so neither the
working directory nor an alembic.ini matters, and Django's logging is left alone.

Both accept an Engine (the caller owns it: dependency injection) or a URL (a short-lived engine
is made and disposed of here).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, pool

from legacy_adapter.capture_reconcile import reconcile_capture
from legacy_adapter.ficus_tables import VERSION_TABLE, ficus_metadata, include_object

ALEMBIC_DIR = Path(__file__).resolve().parent / "alembic"


def alembic_config(*, connection: Connection | None = None, url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(ALEMBIC_DIR))
    config.set_main_option("path_separator", "os")
    if connection is not None:
        config.attributes["connection"] = connection
    if url is not None:
        config.attributes["url"] = url
    return config


@contextmanager
def _engine(target: Engine | str) -> Iterator[Engine]:
    if isinstance(target, Engine):
        yield target
        return
    engine = create_engine(target, poolclass=pool.NullPool)
    try:
        yield engine
    finally:
        engine.dispose()


def upgrade(target: Engine | str, revision: str = "head") -> None:
    """Bring the `ficus_*` tables up to `revision`. Legacy tables are never touched (but for
    the capture triggers on the plans' tables: at head, they are reconciled to the plans)."""
    with _engine(target) as engine, engine.begin() as conn:
        command.upgrade(alembic_config(connection=conn), revision)
        if revision == "head":
            reconcile_capture(conn)


def downgrade(target: Engine | str, revision: str) -> None:
    """Go back to `revision` (e.g. "0002": drop the capture triggers, keep the tables)."""
    with _engine(target) as engine, engine.begin() as conn:
        command.downgrade(alembic_config(connection=conn), revision)


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(target: Engine | str) -> str | None:
    with _engine(target) as engine, engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
        return context.get_current_revision()


def check(target: Engine | str) -> list[Any]:
    """Autogenerate's differences between the database and `ficus_metadata` (Alembic's diff
    tuples, e.g. `("add_table", Table)`); empty when the database is up to date."""
    with _engine(target) as engine, engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={
                "target_metadata": ficus_metadata,
                "include_object": include_object,
                "version_table": VERSION_TABLE,
                "compare_type": True,
            },
        )
        return list(compare_metadata(context, ficus_metadata))
