"""Bring the capture triggers in the legacy database to what the plans ask for (Debezium's model).

The tables a plan owns are captured (legacy_adapter/capture.py builds the triggers). Instead of
an Alembic revision per change of that list, which would rewrite what an applied revision does,
`reconcile_capture` compares the capture triggers the database has with those wanted and
creates the missing, replaces the changed and drops the unwanted ones. Running it again changes
nothing. `legacy_adapter.migrations.upgrade` runs it after every upgrade to head, which is what
`manage.py sync install` (and `sync backfill`) do.

Only triggers named as capture names them (`ficus_<table>_ai/_au/_ad`, `ficus_<table>_capture`)
are ever touched: the legacy application's own triggers are not Ficus's to drop.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import Connection, text

from legacy_adapter.capture import (
    CAPTURED_TABLES,
    CapturedTable,
    CaptureTrigger,
    capture_dialect,
    capture_triggers,
    drop_statements,
    is_capture_trigger,
)


@dataclass(frozen=True, slots=True)
class PresentTrigger:
    name: str
    table: str
    definition: str  # as the catalog shows it (see capture.CaptureTrigger.definition)


@dataclass(frozen=True, slots=True)
class CaptureChanges:
    created: tuple[str, ...] = ()
    replaced: tuple[str, ...] = ()
    dropped: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        return bool(self.created or self.replaced or self.dropped)


_PRESENT_QUERIES = {
    "sqlite": "SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'trigger'",
    "mysql": (
        "SELECT TRIGGER_NAME, EVENT_OBJECT_TABLE, ACTION_STATEMENT "
        "FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE()"
    ),
    # The function's source is what capture writes; the trigger's own line never varies.
    "postgresql": (
        "SELECT t.tgname, c.relname, p.prosrc FROM pg_trigger t "
        "JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_proc p ON p.oid = t.tgfoid "
        "WHERE NOT t.tgisinternal AND pg_table_is_visible(c.oid)"
    ),
}


def present_triggers(conn: Connection) -> dict[str, PresentTrigger]:
    """The capture triggers the database has now, by name."""
    query = _PRESENT_QUERIES[capture_dialect(conn.dialect.name)]
    return {
        name: PresentTrigger(name, table, definition)
        for name, table, definition in conn.execute(text(query)).all()
        if is_capture_trigger(name)
    }


def capture_drift(
    conn: Connection, tables: Iterable[CapturedTable] = CAPTURED_TABLES
) -> CaptureChanges:
    """What `reconcile_capture` would change on `conn`'s database, changing nothing: a worker
    refuses to start on capture that is missing or old (`sync run`)."""
    wanted = capture_triggers(capture_dialect(conn.dialect.name), tables)
    return _changes(wanted, present_triggers(conn))


def reconcile_capture(
    conn: Connection, tables: Iterable[CapturedTable] = CAPTURED_TABLES
) -> CaptureChanges:
    """Make the capture triggers on `conn`'s database exactly those `tables` ask for."""
    dialect = capture_dialect(conn.dialect.name)
    wanted = capture_triggers(dialect, tables)
    present = present_triggers(conn)
    changes = _changes(wanted, present)
    for name in (*changes.dropped, *changes.replaced):
        _run(conn, drop_statements(dialect, name, present[name].table))
    for name in (*changes.created, *changes.replaced):
        _run(conn, list(wanted[name].create))
    return changes


def _changes(
    wanted: Mapping[str, CaptureTrigger], present: Mapping[str, PresentTrigger]
) -> CaptureChanges:
    """What makes `present` exactly `wanted`: each side read once, by the caller."""
    return CaptureChanges(
        created=tuple(sorted(name for name in wanted if name not in present)),
        replaced=tuple(
            sorted(
                name
                for name, trigger in wanted.items()
                if name in present and present[name].definition != trigger.definition
            )
        ),
        dropped=tuple(sorted(name for name in present if name not in wanted)),
    )


def _run(conn: Connection, statements: list[str]) -> None:
    for statement in statements:
        conn.execute(text(statement))
