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
service rows carry the patient's name snapshot, which must follow a rename. Those rows are
`F` (fan-out: refresh the derived copy, see change_ops.py) with no origin: a rename written by
Ficus's reverse sync of *patients* is that feature's echo, but for the appointments' copies it
is news. (Revision 0003 wrote them as `U` with the writer's origin, which made a rename made in
the patients service invisible to the appointments service; revision 0005 replaces them.)

The DDL is generated here (one place, three dialects) and run by Alembic revisions 0003 and
0005; downgrading to 0004 (`manage.py sync uninstall-capture`) drops every trigger again.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

from sqlalchemy import Connection, Engine, text

from legacy_adapter.change_ops import FAN_OUT

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


@dataclass(frozen=True, slots=True)
class _ChangeWriter:
    """How one backend's trigger body appends `ficus_change` rows: the same two statements
    everywhere (the changed key itself, and the keys a change fans out to), differing only in
    which columns are filled and how origin and time are read."""

    columns: str  # the ficus_change columns filled, in order
    stamp: str  # the SQL of every column after (tbl, pk, op): origin, maybe txid, the time
    values: bool  # the changed key as VALUES (...); False: as SELECT, which may take a WHERE
    fan_out_stamp: str = ""  # the same for fan-out rows; "" means `stamp` (revision 0003)
    fan_out_op: str = "U"

    def change(self, tbl: str, key_expr: str, op: str, where: str = "") -> str:
        """One row for the changed key; `where` (SELECT form only) makes it conditional."""
        head = f"INSERT INTO ficus_change ({self.columns}) "
        if self.values:
            if where:
                raise ValueError("a VALUES change row takes no WHERE")
            return f"{head}VALUES ('{tbl}', {key_expr}, '{op}', {self.stamp});"
        return f"{head}SELECT '{tbl}', {key_expr}, '{op}', {self.stamp}{where};"

    def fan_out(self, table: CapturedTable, row: str, where: str = "") -> list[str]:
        """An update row for every dependent key of the `row` (OLD or NEW) that changed."""
        stamp = self.fan_out_stamp or self.stamp
        return [
            f"INSERT INTO ficus_change ({self.columns}) "  # noqa: S608
            f"SELECT '{other}', {other_key}, '{self.fan_out_op}', {stamp} FROM {other} "
            f"WHERE {foreign} = {row}.{table.key}{where};"
            for other, other_key, foreign in table.fan_out
        ]

    def refreshing(self, stamp: str) -> _ChangeWriter:
        """This writer with fan-out rows as `F` refreshes carrying `stamp` (no origin)."""
        return replace(self, fan_out_stamp=stamp, fan_out_op=FAN_OUT)


_COLUMNS = "tbl, pk, op, origin, created_at_us"


# -- SQLite ----------------------------------------------------------------------------------

_SQLITE_NOW = "CAST((julianday('now') - 2440587.5) * 86400000000.0 AS INTEGER)"
_SQLITE_ORIGIN = "(SELECT marker FROM ficus_origin LIMIT 1)"
_SQLITE_0003 = _ChangeWriter(_COLUMNS, f"{_SQLITE_ORIGIN}, {_SQLITE_NOW}", values=False)
_SQLITE = _SQLITE_0003.refreshing(f"NULL, {_SQLITE_NOW}")


def _sqlite_install(table: CapturedTable, writer: _ChangeWriter = _SQLITE) -> list[str]:
    t, k = table.name, table.key
    changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in table.fan_out_columns) or "0"
    bodies = {
        "INSERT": [writer.change(t, f"NEW.{k}", "I"), *writer.fan_out(table, "NEW")],
        "UPDATE": [
            writer.change(t, f"OLD.{k}", "D", f" WHERE OLD.{k} <> NEW.{k}"),
            writer.change(t, f"NEW.{k}", "U"),
            *writer.fan_out(table, "OLD", f" AND OLD.{k} <> NEW.{k}"),
            *writer.fan_out(table, "NEW", f" AND ({changed} OR OLD.{k} <> NEW.{k})"),
        ],
        "DELETE": [writer.change(t, f"OLD.{k}", "D"), *writer.fan_out(table, "OLD")],
    }
    return [
        f"CREATE TRIGGER {_trigger_name(table, suffix)} AFTER {event} ON {t} FOR EACH ROW BEGIN "
        + " ".join(bodies[event])
        + " END"
        for event, _op, suffix in _OPS
    ]


# -- MariaDB / MySQL and PostgreSQL ----------------------------------------------------------

_MY_NOW = "CAST(UNIX_TIMESTAMP(NOW(6)) * 1000000 AS SIGNED)"
_MY_0003 = _ChangeWriter(_COLUMNS, f"@ficus_origin, {_MY_NOW}", values=True)
_MY = _MY_0003.refreshing(f"NULL, {_MY_NOW}")
# PostgreSQL also records the writing transaction; v_origin and v_now are the function's own.
_PG_0003 = _ChangeWriter(
    "tbl, pk, op, origin, txid, created_at_us", "v_origin, txid_current(), v_now", values=True
)
_PG = _PG_0003.refreshing("NULL, txid_current(), v_now")


def _update_fan_out(writer: _ChangeWriter, table: CapturedTable, changed: str) -> str:
    """The UPDATE trigger's fan-out (PL/pgSQL and MariaDB share the IF syntax): the new
    dependents when a watched column or the key changed, the old ones when the key did."""
    if not table.fan_out:
        return ""
    k = table.key
    return (
        f"IF {changed} OR OLD.{k} <> NEW.{k} THEN {_joined_fan_out(writer, table, 'NEW')} "
        f"END IF; IF OLD.{k} <> NEW.{k} THEN {_joined_fan_out(writer, table, 'OLD')} END IF;"
    )


def _joined_fan_out(writer: _ChangeWriter, table: CapturedTable, row: str) -> str:
    return " ".join(writer.fan_out(table, row))


def _mysql_install(table: CapturedTable, writer: _ChangeWriter = _MY) -> list[str]:
    t, k = table.name, table.key
    changed = " OR ".join(f"NOT (OLD.{c} <=> NEW.{c})" for c in table.fan_out_columns) or "FALSE"
    bodies = {
        "INSERT": f"{writer.change(t, f'NEW.{k}', 'I')} {_joined_fan_out(writer, table, 'NEW')}",
        "UPDATE": (
            f"IF OLD.{k} <> NEW.{k} THEN {writer.change(t, f'OLD.{k}', 'D')} END IF; "
            f"{writer.change(t, f'NEW.{k}', 'U')} {_update_fan_out(writer, table, changed)}"
        ),
        "DELETE": f"{writer.change(t, f'OLD.{k}', 'D')} {_joined_fan_out(writer, table, 'OLD')}",
    }
    return [
        f"CREATE TRIGGER {_trigger_name(table, suffix)} AFTER {event} ON {t} FOR EACH ROW "
        f"BEGIN {bodies[event]} END"
        for event, _op, suffix in _OPS
    ]


def _pg_install(table: CapturedTable, writer: _ChangeWriter = _PG) -> list[str]:
    t, k = table.name, table.key
    function = f"ficus_capture_{t.lower()}"
    changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in table.fan_out_columns)
    body = f"""
DECLARE
  v_origin text := NULLIF(current_setting('ficus.origin', true), '');
  v_now bigint := (extract(epoch from clock_timestamp()) * 1000000)::bigint;
BEGIN
  IF TG_OP = 'DELETE' THEN
    {writer.change(t, f"OLD.{k}", "D")} {_joined_fan_out(writer, table, "OLD")}
    RETURN OLD;
  END IF;
  IF TG_OP = 'UPDATE' THEN
    IF OLD.{k} <> NEW.{k} THEN {writer.change(t, f"OLD.{k}", "D")} END IF;
    {writer.change(t, f"NEW.{k}", "U")} {_update_fan_out(writer, table, changed or "FALSE")}
    RETURN NEW;
  END IF;
  {writer.change(t, f"NEW.{k}", "I")} {_joined_fan_out(writer, table, "NEW")}
  RETURN NEW;
END"""
    return [
        f"CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS "
        f"$ficus${body}$ficus$",
        f"CREATE TRIGGER {_trigger_name(table, 'capture')} AFTER INSERT OR UPDATE OR DELETE "
        f"ON {t} FOR EACH ROW EXECUTE FUNCTION {function}()",
    ]


# -- the public API ----------------------------------------------------------------------------


_BUILDERS = {"sqlite": _sqlite_install, "postgresql": _pg_install, "mysql": _mysql_install}
# The writers of each revision that installs triggers; the newest is what capture is now.
_WRITERS = {
    "0003": {"sqlite": _SQLITE_0003, "postgresql": _PG_0003, "mysql": _MY_0003},
    "0005": {"sqlite": _SQLITE, "postgresql": _PG, "mysql": _MY},
}
CURRENT_TRIGGERS = "0005"


def install_statements(dialect: str, revision: str = CURRENT_TRIGGERS) -> list[str]:
    """The DDL that installs every capture trigger on `dialect` (sqlite, postgresql, mysql),
    as the Alembic `revision` that installs them defines them (so an old revision keeps doing
    what it did when a later one changed the triggers)."""
    if dialect == "mariadb":
        dialect = "mysql"
    if dialect not in _BUILDERS:
        raise ValueError(f"change capture does not support the {dialect} dialect")
    writer = _WRITERS[revision][dialect]
    build = _BUILDERS[dialect]
    return [statement for table in CAPTURED_TABLES for statement in build(table, writer)]


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
