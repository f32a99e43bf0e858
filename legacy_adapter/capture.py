"""Change-capture triggers on the legacy tables a plan owns, for SQLite, PostgreSQL and MariaDB.

AFTER INSERT/UPDATE/DELETE triggers append one `ficus_change` row per changed key, in the
writer's own transaction: a change that commits is captured, one that rolls back is not (G1).
The row says only *which* key changed; appliers read the current row (state-based apply).

Each row records the writer's origin marker (`origin`), so the forward applier can skip the
echoes of Ficus's own reverse writes (G4). How a session carries the marker differs by backend:
  * PostgreSQL: a transaction-local setting `ficus.origin` (`set_config(..., true)`), read by
    `current_setting('ficus.origin', true)`; it vanishes at commit or rollback.
  * MariaDB: the session variable `@ficus_origin`, cleared again after the transaction.
  * SQLite: no session state reaches a trigger, but there is one writer at a time, so the
    applier inserts its marker into `ficus_origin` and deletes it again inside its own write
    transaction: only its own triggers can ever see it, and it is never committed.

A PATIENT_MASTER change also queues the appointments of that patient (APPT_SCHED keys): their
service rows carry the patient's name snapshot, which must follow a rename.

The DDL is generated here (one place, three dialects) and run by Alembic revision 0003;
downgrading that revision (`manage.py sync uninstall-capture`) drops every trigger again.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, text

# The DDL below is built from this module's own constants (table and column names), never from
# input, hence the `noqa: S608` on its f-strings.


@dataclass(frozen=True, slots=True)
class CapturedTable:
    name: str
    key: str
    # Other (table, key column, foreign column) whose rows must be re-read when this one changes.
    fan_out: tuple[tuple[str, str, str], ...] = ()
    # Columns whose change triggers the fan-out on UPDATE (inserts and deletes always do).
    fan_out_columns: tuple[str, ...] = ()


CAPTURED_TABLES = (
    CapturedTable("APPT_SCHED", "APPT_ID"),
    CapturedTable(
        "PATIENT_MASTER",
        "PAT_ID",
        fan_out=(("APPT_SCHED", "APPT_ID", "PAT_ID"),),
        fan_out_columns=("LAST_NM", "FIRST_NM"),
    ),
)
FICUS_ORIGIN = "ficus"  # the marker every Ficus writer to the legacy database sets
_OPS = (("INSERT", "I", "ai"), ("UPDATE", "U", "au"), ("DELETE", "D", "ad"))


def _trigger_name(table: CapturedTable, suffix: str) -> str:
    return f"ficus_{table.name.lower()}_{suffix}"


# -- SQLite ----------------------------------------------------------------------------------

_SQLITE_NOW = "CAST((julianday('now') - 2440587.5) * 86400000000.0 AS INTEGER)"
_SQLITE_ORIGIN = "(SELECT marker FROM ficus_origin LIMIT 1)"


def _sqlite_insert(tbl: str, key_expr: str, op: str, where: str = "") -> str:
    return (
        "INSERT INTO ficus_change (tbl, pk, op, origin, created_at_us) "
        f"SELECT '{tbl}', {key_expr}, '{op}', {_SQLITE_ORIGIN}, {_SQLITE_NOW}{where};"
    )


def _sqlite_fan_out(table: CapturedTable, row: str, where: str = "") -> list[str]:
    return [
        "INSERT INTO ficus_change (tbl, pk, op, origin, created_at_us) "  # noqa: S608
        f"SELECT '{other}', {other_key}, 'U', {_SQLITE_ORIGIN}, {_SQLITE_NOW} FROM {other} "
        f"WHERE {foreign} = {row}.{table.key}{where};"
        for other, other_key, foreign in table.fan_out
    ]


def _sqlite_install(table: CapturedTable) -> list[str]:
    t, k = table.name, table.key
    changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in table.fan_out_columns) or "0"
    bodies = {
        "INSERT": [_sqlite_insert(t, f"NEW.{k}", "I"), *_sqlite_fan_out(table, "NEW")],
        "UPDATE": [
            _sqlite_insert(t, f"OLD.{k}", "D", f" WHERE OLD.{k} <> NEW.{k}"),
            _sqlite_insert(t, f"NEW.{k}", "U"),
            *_sqlite_fan_out(table, "OLD", f" AND OLD.{k} <> NEW.{k}"),
            *_sqlite_fan_out(table, "NEW", f" AND ({changed} OR OLD.{k} <> NEW.{k})"),
        ],
        "DELETE": [_sqlite_insert(t, f"OLD.{k}", "D"), *_sqlite_fan_out(table, "OLD")],
    }
    return [
        f"CREATE TRIGGER {_trigger_name(table, suffix)} AFTER {event} ON {t} FOR EACH ROW BEGIN "
        + " ".join(bodies[event])
        + " END"
        for event, _op, suffix in _OPS
    ]


# -- MariaDB / MySQL -------------------------------------------------------------------------

_MY_NOW = "CAST(UNIX_TIMESTAMP(NOW(6)) * 1000000 AS SIGNED)"


def _my_insert(tbl: str, key_expr: str, op: str) -> str:
    return (
        "INSERT INTO ficus_change (tbl, pk, op, origin, created_at_us) "  # noqa: S608
        f"VALUES ('{tbl}', {key_expr}, '{op}', @ficus_origin, {_MY_NOW});"
    )


def _my_fan_out(table: CapturedTable, row: str) -> str:
    return " ".join(
        "INSERT INTO ficus_change (tbl, pk, op, origin, created_at_us) "  # noqa: S608
        f"SELECT '{other}', {other_key}, 'U', @ficus_origin, {_MY_NOW} FROM {other} "
        f"WHERE {foreign} = {row}.{table.key};"
        for other, other_key, foreign in table.fan_out
    )


def _mysql_install(table: CapturedTable) -> list[str]:
    t, k = table.name, table.key
    changed = " OR ".join(f"NOT (OLD.{c} <=> NEW.{c})" for c in table.fan_out_columns) or "FALSE"
    fan_update = (
        f"IF {changed} OR OLD.{k} <> NEW.{k} THEN {_my_fan_out(table, 'NEW')} END IF; "
        f"IF OLD.{k} <> NEW.{k} THEN {_my_fan_out(table, 'OLD')} END IF;"
        if table.fan_out
        else ""
    )
    bodies = {
        "INSERT": f"{_my_insert(t, f'NEW.{k}', 'I')} {_my_fan_out(table, 'NEW')}",
        "UPDATE": (
            f"IF OLD.{k} <> NEW.{k} THEN {_my_insert(t, f'OLD.{k}', 'D')} END IF; "
            f"{_my_insert(t, f'NEW.{k}', 'U')} {fan_update}"
        ),
        "DELETE": f"{_my_insert(t, f'OLD.{k}', 'D')} {_my_fan_out(table, 'OLD')}",
    }
    return [
        f"CREATE TRIGGER {_trigger_name(table, suffix)} AFTER {event} ON {t} FOR EACH ROW "
        f"BEGIN {bodies[event]} END"
        for event, _op, suffix in _OPS
    ]


# -- PostgreSQL ------------------------------------------------------------------------------


def _pg_insert(tbl: str, key_expr: str, op: str) -> str:
    return (
        "INSERT INTO ficus_change (tbl, pk, op, origin, txid, created_at_us) "  # noqa: S608
        f"VALUES ('{tbl}', {key_expr}, {op}, v_origin, txid_current(), v_now);"
    )


def _pg_fan_out(table: CapturedTable, row: str) -> str:
    return " ".join(
        "INSERT INTO ficus_change (tbl, pk, op, origin, txid, created_at_us) "  # noqa: S608
        f"SELECT '{other}', {other_key}, 'U', v_origin, txid_current(), v_now FROM {other} "
        f"WHERE {foreign} = {row}.{table.key};"
        for other, other_key, foreign in table.fan_out
    )


def _pg_install(table: CapturedTable) -> list[str]:
    t, k = table.name, table.key
    function = f"ficus_capture_{t.lower()}"
    changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in table.fan_out_columns)
    fan_update = (
        f"IF {changed or 'FALSE'} OR OLD.{k} <> NEW.{k} THEN {_pg_fan_out(table, 'NEW')} END IF; "
        f"IF OLD.{k} <> NEW.{k} THEN {_pg_fan_out(table, 'OLD')} END IF;"
        if table.fan_out
        else ""
    )
    body = f"""
DECLARE
  v_origin text := NULLIF(current_setting('ficus.origin', true), '');
  v_now bigint := (extract(epoch from clock_timestamp()) * 1000000)::bigint;
BEGIN
  IF TG_OP = 'DELETE' THEN
    {_pg_insert(t, f"OLD.{k}", "'D'")} {_pg_fan_out(table, "OLD")}
    RETURN OLD;
  END IF;
  IF TG_OP = 'UPDATE' THEN
    IF OLD.{k} <> NEW.{k} THEN {_pg_insert(t, f"OLD.{k}", "'D'")} END IF;
    {_pg_insert(t, f"NEW.{k}", "'U'")} {fan_update}
    RETURN NEW;
  END IF;
  {_pg_insert(t, f"NEW.{k}", "'I'")} {_pg_fan_out(table, "NEW")}
  RETURN NEW;
END"""
    return [
        f"CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS "
        f"$ficus${body}$ficus$",
        f"CREATE TRIGGER {_trigger_name(table, 'capture')} AFTER INSERT OR UPDATE OR DELETE "
        f"ON {t} FOR EACH ROW EXECUTE FUNCTION {function}()",
    ]


# -- the public API ----------------------------------------------------------------------------


def install_statements(dialect: str) -> list[str]:
    """The DDL that installs every capture trigger on `dialect` (sqlite, postgresql, mysql)."""
    build = {"sqlite": _sqlite_install, "postgresql": _pg_install, "mysql": _mysql_install}
    if dialect == "mariadb":
        dialect = "mysql"
    if dialect not in build:
        raise ValueError(f"change capture does not support the {dialect} dialect")
    return [statement for table in CAPTURED_TABLES for statement in build[dialect](table)]


def uninstall_statements(dialect: str) -> list[str]:
    statements = []
    for table in CAPTURED_TABLES:
        if dialect == "postgresql":
            statements.append(
                f"DROP TRIGGER IF EXISTS {_trigger_name(table, 'capture')} ON {table.name}"
            )
            statements.append(f"DROP FUNCTION IF EXISTS ficus_capture_{table.name.lower()}()")
        else:
            statements += [
                f"DROP TRIGGER IF EXISTS {_trigger_name(table, suffix)}" for _e, _o, suffix in _OPS
            ]
    return statements


def _backend(conn: Connection) -> str:
    name = conn.dialect.name
    return "mysql" if name == "mariadb" else name


def set_origin(conn: Connection, marker: str = FICUS_ORIGIN) -> None:
    """Mark the writes of the transaction open on `conn` as Ficus's own (see the docstring)."""
    backend = _backend(conn)
    if backend == "postgresql":
        conn.execute(text("SELECT set_config('ficus.origin', :m, true)"), {"m": marker})
    elif backend == "mysql":
        conn.execute(text("SET @ficus_origin = :m"), {"m": marker})
    else:
        conn.execute(text("INSERT INTO ficus_origin (marker) VALUES (:m)"), {"m": marker})


def clear_origin(conn: Connection) -> None:
    """Before commit on SQLite (the marker row must never be committed); no-op on PostgreSQL,
    where the setting is transaction-local."""
    backend = _backend(conn)
    if backend == "sqlite":
        conn.execute(text("DELETE FROM ficus_origin"))
    elif backend == "mysql":
        conn.execute(text("SET @ficus_origin = NULL"))


@contextmanager
def origin_transaction(engine: Engine, marker: str = FICUS_ORIGIN) -> Iterator[Connection]:
    """A transaction on the legacy database whose writes the triggers record as `marker`'s."""
    with engine.connect() as conn:
        try:
            with conn.begin():
                set_origin(conn, marker)
                yield conn
                clear_origin(conn)
        finally:
            if _backend(conn) == "mysql" and not conn.invalidated:
                # A session variable outlives the transaction: the pooled connection must not
                # carry the marker into a later, unrelated write.
                conn.execute(text("SET @ficus_origin = NULL"))
                conn.commit()
