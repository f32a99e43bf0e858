"""The control-plane poller on a real SQLite file: new generations apply, outages keep the table.

The tables come from the control plane's own Django migrations once (so the proxy's reader is
checked against the real schema) and from the proxy's SQLAlchemy definitions otherwise.
"""

from __future__ import annotations

import logging
import sqlite3

import pytest
from sqlalchemy import create_engine

from domain.phases import Phase
from proxy.control_plane import (
    ControlPlane,
    control_db_url,
    control_engine,
    read_states,
    sqlalchemy_url,
)
from tests.proxy.control_db import ddl_control_db, migrated_control_db, set_state


@pytest.fixture
def control_url(tmp_path):
    return ddl_control_db(tmp_path / "control.sqlite3")


@pytest.fixture
def engine(control_url):
    engine = control_engine(control_url)
    yield engine
    engine.dispose()


class Seen:
    def __init__(self):
        self.states = []

    def __call__(self, states):
        self.states.append(dict(states))


def test_it_reads_states_from_tables_made_by_the_control_planes_migrations(tmp_path):
    url = migrated_control_db(tmp_path / "control.sqlite3")
    set_state(url, "charts", "GET", "/api/charts/{id:int}", "canary", 25)
    engine = create_engine(url)
    try:
        states = read_states(engine)
    finally:
        engine.dispose()
    state = states[("GET", "/api/charts/{id:int}")]
    assert (state.phase, state.weight) == (Phase.CANARY, 25)


def test_it_hands_on_states_once_per_generation(engine, control_url):
    seen = Seen()
    plane = ControlPlane(engine, seen)
    assert plane.poll_once()  # the first read, with no row yet: generation 0, no states
    assert seen.states == [{}]
    assert not plane.poll_once()  # nothing changed
    generation = set_state(control_url, "charts", "GET", "/api/charts", "migrated")
    assert plane.poll_once()
    assert plane.generation == generation
    assert seen.states[-1][("GET", "/api/charts")].phase is Phase.MIGRATED
    assert len(seen.states) == 2


def test_an_unreachable_database_keeps_the_last_states_and_is_logged_once(
    engine, control_url, tmp_path, caplog
):
    seen = Seen()
    plane = ControlPlane(engine, seen)
    set_state(control_url, "charts", "GET", "/api/charts", "migrated")
    plane.poll_once()
    path = tmp_path / "control.sqlite3"
    path.rename(tmp_path / "moved.sqlite3")
    with caplog.at_level(logging.WARNING, logger="proxy.control_plane"):
        assert not plane.poll_once()
        assert not plane.poll_once()
    outage = [r.getMessage() for r in caplog.records]
    assert len(outage) == 1
    assert "control plane unreachable" in outage[0]
    assert "unable to open database file" in outage[0]  # the driver's reason
    assert "keeping the last good route table (generation 1)" in outage[0]
    assert len(seen.states) == 1
    assert not path.exists()  # no empty database was made in its place
    caplog.clear()
    (tmp_path / "moved.sqlite3").rename(path)
    with caplog.at_level(logging.WARNING, logger="proxy.control_plane"):
        plane.poll_once()
    assert [r.getMessage() for r in caplog.records] == [
        "control plane reachable again (generation 1)"
    ]


def test_a_locked_database_is_an_outage_not_a_hang(engine, control_url, tmp_path, caplog):
    plane = ControlPlane(engine, Seen())
    plane.poll_once()
    holder = sqlite3.connect(tmp_path / "control.sqlite3")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with caplog.at_level(logging.WARNING, logger="proxy.control_plane"):
            assert not plane.poll_once()
    finally:
        holder.rollback()
        holder.close()
    assert "database is locked" in caplog.records[0].getMessage()


def test_nonsense_rows_are_skipped_and_named(engine, control_url, caplog):
    set_state(control_url, "charts", "GET", "/api/charts", "sideways")
    set_state(control_url, "charts", "GET", "/api/notes", "canary", 10)
    with caplog.at_level(logging.WARNING, logger="proxy.control_plane"):
        states = read_states(engine)
    assert list(states) == [("GET", "/api/notes")]
    assert "unknown phase 'sideways'" in caplog.records[0].getMessage()


def test_states_that_do_not_compile_keep_the_table_and_say_why(engine, control_url, caplog):
    def refuse(states):
        raise ValueError("GET /api/charts overlaps GET /api/{x}")

    set_state(control_url, "charts", "GET", "/api/charts", "migrated")
    with caplog.at_level(logging.WARNING, logger="proxy.control_plane"):
        ControlPlane(engine, refuse).poll_once()
    assert "not applied: GET /api/charts overlaps" in caplog.records[0].getMessage()


def test_the_background_thread_applies_a_change_without_being_asked(engine, control_url):
    seen = Seen()
    plane = ControlPlane(engine, seen, interval=0.02)
    plane.start()  # returns after the first read
    try:
        assert seen.states == [{}]
        set_state(control_url, "charts", "GET", "/api/charts", "retired")
        for _ in range(500):
            if len(seen.states) > 1:
                break
            plane._stop.wait(0.01)
    finally:
        plane.stop()
    assert seen.states[-1][("GET", "/api/charts")].phase is Phase.RETIRED


def test_the_url_comes_from_the_environment_in_sqlalchemy_spelling():
    assert control_db_url({}) == ""
    assert control_db_url({"FICUS_CONTROL_DB_URL": "sqlite:///c.db"}) == "sqlite:///c.db"
    assert (
        control_db_url({"FICUS_DB_DEFAULT_URL": "postgres://u@h:5432/ficus"})
        == "postgresql+psycopg://u@h:5432/ficus"
    )
    assert sqlalchemy_url("mysql://u@h/ficus") == "mysql+pymysql://u@h/ficus"
    assert sqlalchemy_url("sqlite:////var/control.sqlite3") == "sqlite:////var/control.sqlite3"


def test_a_url_it_cannot_use_is_refused_with_the_reason():
    with pytest.raises(ValueError, match="Could not parse"):
        control_engine("not a url")
