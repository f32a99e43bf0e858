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
Ficus's reverse sync of the table's own feature is that feature's echo, but for the derived
copies it is news. (Revision 0003 wrote them as `U` with the writer's origin, which hid a rename
made in the owning service from the appointments service; revision 0005 replaced them.)

The captured tables are the plans' `legacy_tables` (migration_plans/feature_registry.py); each
one's key is its primary key in legacy_adapter/schema.py, and which derived copies its change
refreshes comes from the features' `SourceSpec` lookups (`fan_outs`), not from a list here. The
DDL is generated here (one place, three dialects) and installed by
legacy_adapter/capture_reconcile.py, which brings the triggers present in the database to what
this module asks for after every upgrade to head. Alembic revisions 0003 and 0005 carry frozen
copies of what they installed (legacy_adapter/alembic/frozen/); downgrading to 0004 (`manage.py
sync uninstall-capture`) drops every trigger again.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

from sqlalchemy import Connection, Engine, text

from domain.records.source_spec import SourceSpec
from legacy_adapter.change_ops import FAN_OUT
from legacy_adapter.feature_sources import source_specs
from legacy_adapter.schema import LegacyBase
from migration_plans.feature_registry import legacy_tables

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


FanOut = tuple[tuple[tuple[str, str, str], ...], tuple[str, ...]]


def fan_outs(specs: Iterable[SourceSpec]) -> dict[str, FanOut]:
    """Derived copies a table's change must refresh, read off the features' lookups: a spec
    that shows columns of another table (an appointment shows its patient's name, an
    `OuterJoin`) makes a change of those columns refresh its rows that point at the changed row.
    Table -> ((dependent table, its key, its column holding this table's key), watched columns).
    """
    dependents: dict[str, list[tuple[str, str, str]]] = {}
    watched: dict[str, list[str]] = {}
    for spec in specs:
        for join in spec.joins:
            edge = (spec.table, spec.key, join.on)
            if edge not in dependents.setdefault(join.table, []):
                dependents[join.table].append(edge)
            columns = watched.setdefault(join.table, [])
            columns.extend(c for c in join.columns if c not in columns)
    return {table: (tuple(edges), tuple(watched[table])) for table, edges in dependents.items()}


def captured_tables(
    tables: Iterable[str], specs: Iterable[SourceSpec] | None = None
) -> tuple[CapturedTable, ...]:
    """The capture of each of `tables`: its key from the legacy schema, and its fan-out (from
    `specs`, by default every feature's) to those dependent tables that are captured too (a
    derived copy nobody keeps needs none)."""
    names = tuple(tables)
    fan_out_of = fan_outs(source_specs() if specs is None else specs)
    captured = []
    for name in names:
        if name not in LegacyBase.metadata.tables:
            raise ValueError(
                f"{name} is not a table of the legacy schema (legacy_adapter/schema.py)"
            )
        (key,) = (column.name for column in LegacyBase.metadata.tables[name].primary_key)
        fan_out, watched = fan_out_of.get(name, ((), ()))
        fan_out = tuple(dependent for dependent in fan_out if dependent[0] in names)
        captured.append(CapturedTable(name, key, fan_out, watched if fan_out else ()))
    return tuple(captured)


# Every legacy table a plan owns.
CAPTURED_TABLES = captured_tables(legacy_tables())
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
_SQLITE = _ChangeWriter(_COLUMNS, f"{_SQLITE_ORIGIN}, {_SQLITE_NOW}", values=False).refreshing(
    f"NULL, {_SQLITE_NOW}"
)


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
_MY = _ChangeWriter(_COLUMNS, f"@ficus_origin, {_MY_NOW}", values=True).refreshing(
    f"NULL, {_MY_NOW}"
)
# PostgreSQL also records the writing transaction; v_origin and v_now are the function's own.
_PG = _ChangeWriter(
    "tbl, pk, op, origin, txid, created_at_us", "v_origin, txid_current(), v_now", values=True
).refreshing("NULL, txid_current(), v_now")


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
_WRITERS = {"sqlite": _SQLITE, "postgresql": _PG, "mysql": _MY}


def capture_dialect(name: str) -> str:
    """The capture dialect of a SQLAlchemy dialect name (MariaDB runs MySQL's triggers)."""
    dialect = "mysql" if name == "mariadb" else name
    if dialect not in _BUILDERS:
        raise ValueError(f"change capture does not support the {name} dialect")
    return dialect


@dataclass(frozen=True, slots=True)
class CaptureTrigger:
    """One trigger as the database's catalog knows it, with the DDL that creates it."""

    name: str
    table: str
    # What the catalog shows of its definition: the CREATE TRIGGER text (SQLite), the body
    # after FOR EACH ROW (MariaDB), the trigger function's source (PostgreSQL).
    definition: str
    create: tuple[str, ...]


def _pg_function_body(create_function: str) -> str:
    return create_function.split("$ficus$")[1]


def capture_triggers(
    dialect: str, tables: Iterable[CapturedTable] = CAPTURED_TABLES
) -> dict[str, CaptureTrigger]:
    """Every trigger capture asks for on `dialect` for `tables`, by trigger name."""
    dialect = capture_dialect(dialect)
    build, writer = _BUILDERS[dialect], _WRITERS[dialect]
    triggers: dict[str, CaptureTrigger] = {}
    for table in tables:
        statements = build(table, writer)
        if dialect == "postgresql":
            name = _trigger_name(table, "capture")
            body = _pg_function_body(statements[0])
            triggers[name] = CaptureTrigger(name, table.name, body, tuple(statements))
            continue
        for statement, (_event, _op, suffix) in zip(statements, _OPS, strict=True):
            name = _trigger_name(table, suffix)
            shown = statement if dialect == "sqlite" else statement.split(" FOR EACH ROW ", 1)[1]
            triggers[name] = CaptureTrigger(name, table.name, shown, (statement,))
    return triggers


def is_capture_trigger(name: str) -> bool:
    """Whether a trigger's name is one capture gives its triggers (see `_trigger_name`)."""
    suffixes = ("_capture", *(f"_{suffix}" for _e, _o, suffix in _OPS))
    return name.startswith("ficus_") and name.endswith(suffixes)


def drop_statements(dialect: str, name: str, table: str) -> list[str]:
    """The DDL that drops the capture trigger `name` on `table` (and its function)."""
    if capture_dialect(dialect) != "postgresql":
        return [f"DROP TRIGGER IF EXISTS {name}"]
    function = "ficus_capture_" + name.removeprefix("ficus_").removesuffix("_capture")
    return [f'DROP TRIGGER IF EXISTS {name} ON "{table}"', f"DROP FUNCTION IF EXISTS {function}()"]


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
