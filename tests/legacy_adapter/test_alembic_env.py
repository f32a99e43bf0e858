"""Ficus's Alembic environment owns the ficus_* tables and never touches a legacy table."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, func, select, text

from legacy_adapter import migrations
from legacy_adapter.ficus_tables import include_object
from legacy_adapter.schema import ApptSched, is_legacy_table
from tests.legacy_adapter.legacy_db import (
    add_appointments,
    appointment_row,
    create_legacy_schema,
    table_shapes,
)

REPO = Path(__file__).resolve().parents[2]


def assert_upgrade_adds_only_ficus_tables(url: str) -> None:
    engine = create_engine(url)
    try:
        create_legacy_schema(engine)
        add_appointments(engine, [appointment_row(1), appointment_row(2)])
        before = table_shapes(engine)

        migrations.upgrade(url)
        migrations.upgrade(url)  # a second run is a no-op, not an error

        after = table_shapes(engine)
        added = set(after) - set(before)
        assert added == {
            "ficus_alembic_version",
            "ficus_sync_checkpoint",
            "ficus_change",
            "ficus_origin",
            "ficus_dead_letter",
            "ficus_reconcile_run",
            "ficus_conflict",
            "ficus_sync_report",
        }
        # Every legacy table is still there with the same columns, indexes and key.
        assert {name: after[name] for name in before} == before
        assert all(is_legacy_table(name) for name in before)
        with engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(ApptSched)).scalar_one() == 2
        assert migrations.current_revision(url) == migrations.head_revision() == "0005"
        # Autogenerate compares ours only: nothing to add, and nothing legacy to drop or alter.
        assert migrations.check(url) == []
        # The same through Alembic's own `check` command and the real env.py.
        command.check(migrations.alembic_config(url=url))
    finally:
        engine.dispose()


def test_it_adds_only_ficus_tables_and_proposes_nothing_on_sqlite(legacy_database_url):
    assert_upgrade_adds_only_ficus_tables(legacy_database_url)


@pytest.mark.databases
def test_it_adds_only_ficus_tables_and_proposes_nothing_on_servers(legacy_database_url):
    assert_upgrade_adds_only_ficus_tables(legacy_database_url)


def test_check_still_reports_drift_in_ficus_own_tables(legacy_database_url):
    engine = create_engine(legacy_database_url)
    create_legacy_schema(engine)
    migrations.upgrade(engine)
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE ficus_sync_checkpoint ADD COLUMN stray INTEGER"))
        conn.execute(text("CREATE TABLE ficus_leftover (id INTEGER PRIMARY KEY)"))
        conn.execute(text("CREATE TABLE dba_scratch (id INTEGER PRIMARY KEY)"))

    diffs = migrations.check(engine)
    engine.dispose()

    # Our own table drifted, and a ficus_* table nobody declares: both reported, so an empty
    # check means something. A stranger's table is left alone, like the legacy ones.
    summary = sorted(
        (diff[0], diff[1].name) if diff[0] == "remove_table" else (diff[0], diff[2], diff[3].name)
        for diff in diffs
    )
    assert summary == [
        ("remove_column", "ficus_sync_checkpoint", "stray"),
        ("remove_table", "ficus_leftover"),
    ]


@pytest.mark.parametrize(
    ("name", "reflected", "compare_to", "included"),
    [
        ("APPT_SCHED", True, None, False),
        ("appt_sched", True, None, False),  # PostgreSQL reports it in lower case
        ("PATIENT_MASTER", False, object(), False),
        ("ficus_sync_checkpoint", True, object(), True),
        ("ficus_old_table", True, None, True),
        ("dba_scratch", True, None, False),
    ],
)
def test_include_object_keeps_autogenerate_on_ficus_tables(name, reflected, compare_to, included):
    assert include_object(None, name, "table", reflected, compare_to) is included


def test_the_alembic_cli_finds_the_database_through_legacy_database_url(tmp_path):
    url = f"sqlite:///{tmp_path / 'legacy.sqlite3'}"
    engine = create_engine(url)
    create_legacy_schema(engine)
    env = {**os.environ, "LEGACY_DATABASE_URL": url}
    alembic = [sys.executable, "-m", "alembic", "-c", str(REPO / "legacy_adapter" / "alembic.ini")]

    upgraded = subprocess.run(
        [*alembic, "upgrade", "head"], env=env, capture_output=True, text=True
    )
    checked = subprocess.run([*alembic, "check"], env=env, capture_output=True, text=True)

    assert upgraded.returncode == 0, upgraded.stderr
    assert checked.returncode == 0, checked.stderr
    assert "No new upgrade operations detected" in checked.stdout + checked.stderr
    assert migrations.current_revision(engine) == "0005"
    engine.dispose()
