"""The proxy's link to the control plane: poll the generation, read route states on change.

A background thread (not the event loop: database drivers block) runs `SELECT generation FROM
ficus_control_generation WHERE id = 1` every `interval` seconds (0.2 by default, so a change
reaches every worker well within 1 s). When the number differs from the last one it read, it
reads every `ficus_route_state` row and hands them to `on_states` *in the thread*; the addon
compiles its new `RouteTable` there and swaps it in with one assignment, so the event loop
never waits for SQL or compilation and a request sees either the old table or the new one.

Failures keep the last good state: a database that cannot be reached (file gone or locked,
server down, tables missing) is logged once when the outage starts, with the driver's reason,
and once when it ends; meanwhile the table in force stays as it is. A state row that makes no
sense (an unknown phase, a weight outside 0-100) is skipped with a log line naming it, and the
route keeps its plan-file phase. No URL configured means no control plane: plan phases only.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Mapping
from typing import Final

from sqlalchemy import Engine, create_engine, make_url, select
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from domain.phases import Phase
from domain.redaction import describe_error
from domain.route_table import RouteState, RouteStates
from proxy.control_schema import generation_table, route_state_table

logger = logging.getLogger(__name__)

POLL_SECONDS: Final = 0.2
# How long `start` waits for the first read, so the proxy opens with the control plane's table.
FIRST_READ_SECONDS: Final = 2.0


def control_db_url(environ: Mapping[str, str] | None = None) -> str:
    """The `ficus_control_db` default: $FICUS_CONTROL_DB_URL, else $FICUS_DB_DEFAULT_URL made
    into a SQLAlchemy URL (Django's dj-database-url schemes name no driver), else ''."""
    env = os.environ if environ is None else environ
    if url := env.get("FICUS_CONTROL_DB_URL", ""):
        return url
    return sqlalchemy_url(env.get("FICUS_DB_DEFAULT_URL", ""))


def sqlalchemy_url(django_url: str) -> str:
    """A dj-database-url URL as SQLAlchemy spells it (the drivers Ficus installs)."""
    scheme, sep, rest = django_url.partition("://")
    if not sep:
        return django_url
    driver = {
        "postgres": "postgresql+psycopg",
        "postgresql": "postgresql+psycopg",
        "pgsql": "postgresql+psycopg",
        "mysql": "mysql+pymysql",
        "mariadb": "mysql+pymysql",
    }.get(scheme, scheme)
    return f"{driver}://{rest}"


def control_engine(url: str) -> Engine:
    """An engine for the control-plane database; raises ValueError for a URL it cannot use.

    Waits are bounded (a locked SQLite file, a silent server) so the poller never stalls long.
    A SQLite file is opened read-write without creating it (a missing file is an outage, not a
    new empty database) and without pooling, so a replaced or moved file is seen at once.
    """
    try:
        parsed = make_url(url)
        backend = parsed.get_backend_name()
        if backend == "sqlite":
            database = parsed.database or ""
            if database and database != ":memory:" and not database.startswith("file:"):
                parsed = parsed.set(
                    database=f"file:{database}",
                    query={**parsed.query, "mode": "rw", "uri": "true"},
                )
            return create_engine(parsed, poolclass=NullPool, connect_args={"timeout": 1.0})
        connect_args = {"connect_timeout": 2} if backend in ("postgresql", "mysql") else {}
        return create_engine(parsed, pool_pre_ping=True, connect_args=connect_args)
    except (ArgumentError, ImportError) as e:
        raise ValueError(str(e)) from e


def read_generation(engine: Engine) -> int:
    """The current generation; 0 while the control plane has not written its row yet."""
    with engine.connect() as connection:
        value = connection.execute(
            select(generation_table.c.generation).where(generation_table.c.id == 1)
        ).scalar()
    return int(value) if value is not None else 0


def read_states(engine: Engine) -> dict[tuple[str, str], RouteState]:
    """Every sensible state row by (method, template); nonsense rows are logged and skipped."""
    c = route_state_table.c
    with engine.connect() as connection:
        rows = connection.execute(select(c.id, c.method, c.template, c.phase, c.weight)).all()
    states: dict[tuple[str, str], RouteState] = {}
    for row_id, method, template, phase, weight in rows:
        try:
            parsed = Phase(phase)
        except ValueError:
            logger.warning(
                "ficus_route_state row %s (%s %s): unknown phase %r; the route keeps its "
                "plan-file phase",
                row_id,
                method,
                template,
                phase,
            )
            continue
        if weight is None or not 0 <= int(weight) <= 100:
            logger.warning(
                "ficus_route_state row %s (%s %s): weight %r is not 0-100; the route keeps "
                "its plan-file phase",
                row_id,
                method,
                template,
                weight,
            )
            continue
        states[(str(method), str(template))] = RouteState(parsed, int(weight))
    return states


class ControlPlane:
    """Polls one control-plane database; calls `on_states(states)` from its thread on change."""

    def __init__(
        self,
        engine: Engine,
        on_states: Callable[[RouteStates], None],
        *,
        interval: float = POLL_SECONDS,
    ) -> None:
        self._engine = engine
        self._on_states = on_states
        self._interval = interval
        self._generation: int | None = None
        self._down = False
        self._stop = threading.Event()
        self._first = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ficus-control-plane", daemon=True)

    @property
    def generation(self) -> int | None:
        """The generation of the states in force; None until one read succeeded."""
        return self._generation

    def start(self) -> None:
        self._thread.start()
        self._first.wait(FIRST_READ_SECONDS)

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def poll_once(self) -> bool:
        """Read the generation and, if it changed, the states. True if new states were handed on."""
        try:
            generation = read_generation(self._engine)
            if generation == self._generation:
                self._recovered()
                return False
            states = read_states(self._engine)
        except SQLAlchemyError as e:
            if not self._down:
                self._down = True
                logger.warning(
                    "control plane unreachable (%s); keeping the last good route table "
                    "(generation %s) until it answers again",
                    describe_error(e),
                    "none: plan-file phases" if self._generation is None else self._generation,
                )
            return False
        self._recovered()
        try:
            self._on_states(states)
        except ValueError as e:
            # The states could not be compiled with the plans: keep the table in force, and
            # try again when the generation changes next.
            logger.warning("control plane generation %s not applied: %s", generation, e)
        self._generation = generation
        return True

    def _recovered(self) -> None:
        if self._down:
            self._down = False
            logger.warning("control plane reachable again (generation %s)", self._generation)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once()
            except Exception:  # the poller must outlive any surprise; the table stays
                logger.exception("control plane poll failed")
            self._first.set()
            self._stop.wait(self._interval)
