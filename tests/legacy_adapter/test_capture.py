"""The capture triggers: one change row per changed key, in the writer's transaction, with the
origin marker of Ficus's own writes; uninstalling is a migration too."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, delete, insert, select, update

from legacy_adapter import migrations
from legacy_adapter.capture import origin_transaction
from legacy_adapter.ficus_tables import change
from legacy_adapter.schema import ApptSched, PatientMaster
from tests.legacy_adapter.legacy_db import add_appointments, appointment_row
from tests.legacy_adapter.sync_helpers import legacy_engine


@pytest.fixture
def legacy(legacy_database_url):
    engine = legacy_engine(legacy_database_url)
    with engine.begin() as conn:
        conn.execute(delete(change))
    yield engine
    engine.dispose()


def changes(engine) -> list[tuple[str, int, str, str | None]]:
    with engine.connect() as conn:
        rows = conn.execute(select(change.c.tbl, change.c.pk, change.c.op, change.c.origin))
        return sorted(tuple(row) for row in rows)


def exercise(engine) -> None:
    add_appointments(engine, [appointment_row(1), appointment_row(2, PAT_ID=2)])
    with engine.begin() as conn:
        conn.execute(update(ApptSched).where(ApptSched.APPT_ID == 1).values(DUR_MIN=30))
        conn.execute(update(ApptSched).where(ApptSched.APPT_ID == 2).values(APPT_ID=3))
    with engine.connect() as conn, conn.begin() as tx:  # rolled back: never captured
        conn.execute(delete(ApptSched).where(ApptSched.APPT_ID == 1))
        tx.rollback()
    with origin_transaction(engine) as conn:  # Ficus's own write
        conn.execute(insert(ApptSched), [appointment_row(9)])
    with engine.begin() as conn:  # a rename: that patient's appointments are queued too
        conn.execute(update(PatientMaster).where(PatientMaster.PAT_ID == 1).values(LAST_NM="X"))
    with engine.begin() as conn:  # after the marked transaction the marker is gone
        conn.execute(delete(ApptSched).where(ApptSched.APPT_ID == 3))


EXPECTED = [
    ("APPT_SCHED", 1, "F", None),  # fan-out of the rename of patient 1: refresh the name
    ("APPT_SCHED", 1, "I", None),
    ("APPT_SCHED", 1, "U", None),
    ("APPT_SCHED", 2, "D", None),  # the key changed: the old key is gone ...
    ("APPT_SCHED", 2, "I", None),
    ("APPT_SCHED", 3, "D", None),
    ("APPT_SCHED", 3, "U", None),  # ... and the new one exists
    ("APPT_SCHED", 9, "F", None),  # fan-out of the rename: a refresh, never an echo
    ("APPT_SCHED", 9, "I", "ficus"),
    ("PATIENT_MASTER", 1, "U", None),
]


def test_it_captures_every_committed_change_with_its_origin(legacy):
    exercise(legacy)

    assert changes(legacy) == EXPECTED


@pytest.mark.databases
def test_it_captures_the_same_on_servers(legacy):
    exercise(legacy)

    assert changes(legacy) == EXPECTED


def test_a_rename_written_by_ficus_still_refreshes_the_appointments_copies(legacy):
    """The patients service renames a patient; reverse sync writes it with Ficus's origin.
    For the patients feature that write is an echo, but the name on each of the patient's
    appointments must follow it: the fan-out rows carry no origin."""
    add_appointments(legacy, [appointment_row(1), appointment_row(2, PAT_ID=2)])
    with legacy.begin() as conn:
        conn.execute(delete(change))
    with origin_transaction(legacy) as conn:
        conn.execute(update(PatientMaster).where(PatientMaster.PAT_ID == 1).values(LAST_NM="Y"))

    assert changes(legacy) == [("APPT_SCHED", 1, "F", None), ("PATIENT_MASTER", 1, "U", "ficus")]


@pytest.mark.databases
def test_a_rename_written_by_ficus_refreshes_the_copies_on_servers(legacy):
    test_a_rename_written_by_ficus_still_refreshes_the_appointments_copies(legacy)


def test_uninstalling_the_triggers_is_a_migration(legacy_database_url):
    engine = create_engine(legacy_database_url)
    legacy_engine(legacy_database_url).dispose()
    migrations.downgrade(engine, "0004")
    before = changes(engine)
    add_appointments(engine, [appointment_row(5)])

    assert changes(engine) == before
    assert migrations.check(engine) == []  # the tables stay, and match
    migrations.upgrade(engine)
    add_appointments(engine, [appointment_row(6)])
    assert ("APPT_SCHED", 6, "I", None) in changes(engine)
    engine.dispose()
