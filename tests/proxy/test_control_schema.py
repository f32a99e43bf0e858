"""The proxy's SQLAlchemy view of the C2 tables matches the control plane's own migrations, and
works on every database the control plane may live in."""

from __future__ import annotations

import json
import logging

import pytest
from sqlalchemy import create_engine, inspect

from domain.latency import BUCKET_COUNT
from domain.phases import Phase
from proxy.control_plane import ControlPlane, control_engine, read_states
from proxy.control_schema import metadata
from proxy.route_stats import RouteStats, StatsFlusher
from tests.proxy.control_db import migrated_control_db, set_state, stats_rows
from tests.support.ports import free_port


def test_every_column_the_proxy_names_exists_in_the_migrated_tables(tmp_path):
    url = migrated_control_db(tmp_path / "control.sqlite3")
    engine = create_engine(url)
    try:
        inspector = inspect(engine)
        for table in metadata.sorted_tables:
            migrated = {c["name"] for c in inspector.get_columns(table.name)}
            assert {c.name for c in table.columns} == migrated, table.name
    finally:
        engine.dispose()


@pytest.mark.databases
def test_states_and_stats_round_trip_on_a_server_database(legacy_database_url):
    engine = create_engine(legacy_database_url)
    try:
        metadata.create_all(engine)
    finally:
        engine.dispose()
    set_state(legacy_database_url, "charts", "GET", "/api/charts/{id:int}", "canary", 20)
    engine = control_engine(legacy_database_url)
    try:
        state = read_states(engine)[("GET", "/api/charts/{id:int}")]
        assert (state.phase, state.weight) == (Phase.CANARY, 20)
        stats = RouteStats(worker="w1")
        stats.record("charts", "GET", "/api/charts/{id:int}", "shadow", error=True, latency_ms=5)
        assert StatsFlusher(stats, engine).flush() == 1
    finally:
        engine.dispose()
    (row,) = stats_rows(legacy_database_url)
    assert (row["side"], row["errors"], len(row["latency_buckets"])) == ("shadow", 1, BUCKET_COUNT)
    assert json.dumps(row["latency_buckets"])


def test_a_server_on_a_closed_port_is_an_outage_with_the_drivers_reason(caplog):
    engine = control_engine(f"postgresql+psycopg://ficus@127.0.0.1:{free_port()}/control")
    try:
        with caplog.at_level(logging.WARNING, logger="proxy.control_plane"):
            assert not ControlPlane(engine, lambda states: None).poll_once()
    finally:
        engine.dispose()
    (record,) = caplog.records
    assert "control plane unreachable (OperationalError: connection failed" in record.getMessage()
    assert "generation none: plan-file phases" in record.getMessage()
