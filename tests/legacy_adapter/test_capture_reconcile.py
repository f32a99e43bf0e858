"""Reconciling the capture triggers with the plans' tables: the database ends up with exactly the
triggers the plans ask for, whatever it had, and the Alembic revisions keep meaning what they
did when they were applied, whatever the plans say today."""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, delete, insert, select, text, update

from legacy_adapter import capture, migrations
from legacy_adapter.alembic.frozen import capture_0003
from legacy_adapter.capture import CAPTURED_TABLES, capture_triggers, captured_tables
from legacy_adapter.capture_reconcile import CaptureChanges, present_triggers, reconcile_capture
from legacy_adapter.ficus_tables import change
from legacy_adapter.migrations import ALEMBIC_DIR
from legacy_adapter.schema import PatientMaster, Provider
from migration_plans.feature_registry import REGISTRY_PLANS_DIR, legacy_tables
from tests.legacy_adapter.legacy_db import add_appointments, appointment_row, create_legacy_schema
from tests.legacy_adapter.sync_helpers import legacy_engine


@pytest.fixture
def legacy(legacy_database_url: str):
    engine = legacy_engine(legacy_database_url)  # upgraded to head: reconciled to the plans
    yield engine
    engine.dispose()


def reconcile(engine: Engine, tables=CAPTURED_TABLES) -> CaptureChanges:
    with engine.begin() as conn:
        return reconcile_capture(conn, tables)


def trigger_names(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(present_triggers(conn))


def captured(engine: Engine) -> set[tuple[str, int, str]]:
    with engine.connect() as conn:
        return {tuple(row) for row in conn.execute(select(change.c.tbl, change.c.pk, change.c.op))}


def plans_with_tables(tmp_path: Path, feature: str, tables: str) -> Path:
    """A copy of the registry's plans where `feature` owns `tables` (YAML flow list text)."""
    directory = tmp_path / "plans"
    shutil.copytree(REGISTRY_PLANS_DIR, directory)
    plan = directory / f"{feature}.yaml"
    lines = [
        f"legacy_tables: {tables}" if line.startswith("legacy_tables:") else line
        for line in plan.read_text().splitlines()
    ]
    plan.write_text("\n".join(lines) + "\n")
    return directory


def check_reconcile_after_install_changes_nothing(engine: Engine) -> None:
    dialect = engine.dialect.name
    assert trigger_names(engine) == set(capture_triggers(dialect))
    assert reconcile(engine) == CaptureChanges()
    assert reconcile(engine) == CaptureChanges()


def test_after_install_reconciling_again_changes_nothing(legacy):
    check_reconcile_after_install_changes_nothing(legacy)


@pytest.mark.databases
def test_after_install_reconciling_again_changes_nothing_on_servers(legacy):
    """The catalog's copy of each definition compares equal to what capture asks for."""
    check_reconcile_after_install_changes_nothing(legacy)


def check_a_table_added_to_a_plan_gets_its_triggers(engine: Engine, tmp_path: Path) -> None:
    plans = plans_with_tables(tmp_path, "appointments", "[APPT_SCHED, PROVIDER]")
    tables = captured_tables(legacy_tables(plans))

    changes = reconcile(engine, tables)

    added = captured_tables(["PROVIDER"])
    assert changes.created == tuple(sorted(capture_triggers(engine.dialect.name, added)))
    assert changes.replaced == changes.dropped == ()
    with engine.begin() as conn:
        conn.execute(insert(Provider), [{"PROV_ID": 7, "NAME": "DR WHO", "DEPT_CD": "CARD"}])
    assert ("PROVIDER", 7, "I") in captured(engine)
    assert reconcile(engine, tables) == CaptureChanges()  # twice: nothing left to do


def test_a_table_added_to_a_plan_gets_its_triggers_on_the_next_reconcile(legacy, tmp_path):
    check_a_table_added_to_a_plan_gets_its_triggers(legacy, tmp_path)


@pytest.mark.databases
def test_a_table_added_to_a_plan_gets_its_triggers_on_servers(legacy, tmp_path):
    check_a_table_added_to_a_plan_gets_its_triggers(legacy, tmp_path)


def check_a_table_removed_from_the_plans_loses_its_triggers(engine: Engine, tmp_path) -> None:
    plans = plans_with_tables(tmp_path, "patients", "[]")
    tables = captured_tables(legacy_tables(plans))

    changes = reconcile(engine, tables)

    gone = captured_tables(["PATIENT_MASTER"])
    assert changes.dropped == tuple(sorted(capture_triggers(engine.dialect.name, gone)))
    assert changes.created == changes.replaced == ()
    with engine.begin() as conn:
        conn.execute(delete(change))
        conn.execute(update(PatientMaster).where(PatientMaster.PAT_ID == 1).values(LAST_NM="X"))
    add_appointments(engine, [appointment_row(1)])
    # No PATIENT_MASTER row, and no fan-out from it: only the appointment's own insert.
    assert captured(engine) == {("APPT_SCHED", 1, "I")}
    assert reconcile(engine, tables) == CaptureChanges()


def test_a_table_removed_from_the_plans_loses_its_triggers(legacy, tmp_path):
    check_a_table_removed_from_the_plans_loses_its_triggers(legacy, tmp_path)


@pytest.mark.databases
def test_a_table_removed_from_the_plans_loses_its_triggers_on_servers(legacy, tmp_path):
    check_a_table_removed_from_the_plans_loses_its_triggers(legacy, tmp_path)


def test_a_changed_trigger_is_replaced_and_a_legacy_trigger_is_left_alone(legacy):
    with legacy.begin() as conn:
        conn.execute(text("DROP TRIGGER ficus_appt_sched_ai"))
        conn.execute(
            text(
                "CREATE TRIGGER ficus_appt_sched_ai AFTER INSERT ON APPT_SCHED FOR EACH ROW "
                "BEGIN SELECT 1; END"
            )
        )
        # The legacy application's own trigger: not Ficus's to touch.
        conn.execute(
            text(
                "CREATE TRIGGER appt_audit AFTER DELETE ON APPT_SCHED FOR EACH ROW "
                "BEGIN SELECT 1; END"
            )
        )

    assert reconcile(legacy) == CaptureChanges(replaced=("ficus_appt_sched_ai",))
    with legacy.connect() as conn:
        names = conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'"))
        assert "appt_audit" in set(names.scalars())
    add_appointments(legacy, [appointment_row(4)])
    assert ("APPT_SCHED", 4, "I") in captured(legacy)


def test_applied_revision_0003_does_not_change_with_the_live_table_list(
    legacy_database_url, monkeypatch
):
    """Upgrading to 0003 installs the triggers it installed on the day it was written (its
    frozen copy), even when today's capture asks for other tables."""
    monkeypatch.setattr(capture, "CAPTURED_TABLES", captured_tables(["APPT_SCHED", "PROVIDER"]))
    engine = create_engine(legacy_database_url)
    create_legacy_schema(engine)
    migrations.upgrade(engine, "0003")

    with engine.connect() as conn:
        rows = conn.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"))
        installed: dict[str, str] = {name: sql for name, sql in rows}
    engine.dispose()

    assert list(installed.values()) == list(capture_0003.INSTALL["sqlite"])
    assert {table.lower() for table in capture_0003.TABLES} == {
        name.removeprefix("ficus_").rsplit("_", 1)[0] for name in installed
    }


def test_no_revision_reads_live_capture_code():
    """What a revision does must not depend on today's code: only frozen copies are imported."""
    for revision in sorted((ALEMBIC_DIR / "versions").glob("*.py")):
        tree = ast.parse(revision.read_text())
        imported = {
            node.module
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module is not None
        }
        imported |= {
            alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.Import)
            for alias in node.names
        }
        ficus = {
            name for name in imported if name.split(".")[0] in {"legacy_adapter", "migration_plans"}
        }
        assert ficus <= {
            "legacy_adapter.alembic.frozen.capture_0003",
            "legacy_adapter.alembic.frozen.capture_0005",
        }, revision.name


def test_an_upgrade_to_head_reconciles(legacy):
    """`sync install` (an upgrade to head) puts back a capture trigger that went missing,
    though the revisions have nothing left to do."""
    with legacy.begin() as conn:
        conn.execute(text("DROP TRIGGER ficus_appt_sched_ai"))

    migrations.upgrade(legacy)

    assert trigger_names(legacy) == set(capture_triggers("sqlite"))


def check_uninstalling_capture_drops_the_reconciled_triggers_too(engine: Engine) -> None:
    reconcile(engine, captured_tables([*legacy_tables(), "PROVIDER"]))

    migrations.downgrade(engine, "0004")  # `sync uninstall-capture`

    assert trigger_names(engine) == set()
    migrations.upgrade(engine)  # `sync install`: the plans' triggers, and no others
    assert trigger_names(engine) == set(capture_triggers(engine.dialect.name))


def test_uninstalling_capture_drops_the_reconciled_triggers_too(legacy):
    check_uninstalling_capture_drops_the_reconciled_triggers_too(legacy)


@pytest.mark.databases
def test_uninstalling_capture_drops_the_reconciled_triggers_too_on_servers(legacy):
    check_uninstalling_capture_drops_the_reconciled_triggers_too(legacy)
