"""Forward apply from the capture triggers' change rows, through the real service sink."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import delete, insert, select, update

from extracted.appointments.models import Appointment
from legacy_adapter import conflicts
from legacy_adapter.capture import origin_transaction
from legacy_adapter.features import feature_sync
from legacy_adapter.ficus_tables import dead_letter
from legacy_adapter.forward_apply import Shard
from legacy_adapter.models import AppliedChange
from legacy_adapter.operations import prune
from legacy_adapter.schema import ApptSched, PatientMaster
from tests.legacy_adapter.legacy_db import add_appointments, appointment_row
from tests.legacy_adapter.sync_helpers import (
    applier,
    edit,
    legacy_engine,
    past_the_last_capture,
    pending,
    service_edit,
    stored,
)

pytestmark = pytest.mark.django_db(databases=["default", "appointments"])


@pytest.fixture
def legacy(legacy_database_url):
    engine = legacy_engine(legacy_database_url)
    yield engine
    engine.dispose()


def test_it_applies_inserts_updates_and_deletes_as_the_current_state(legacy):
    add_appointments(legacy, [appointment_row(k, PAT_ID=1 + k % 2) for k in range(1, 6)])
    edit(legacy, 2, STATUS_CD="C", UPD_TS="20261121100000")
    edit(legacy, 2, REASON_TXT="CALLED", UPD_TS="20261121100001")
    with legacy.begin() as conn:
        conn.execute(delete(ApptSched).where(ApptSched.APPT_ID == 4))

    report = applier(legacy).drain()

    rows = stored()
    assert sorted(rows) == [1, 2, 3, 5]
    assert (rows[2].status, rows[2].reason) == (Appointment.Status.CANCELLED, "CALLED")
    assert rows[2].source_updated_at == datetime(2026, 11, 21, 10, 0, 1, tzinfo=UTC)
    assert rows[3].patient_display_name == "ROE, RICHARD"
    assert report.claimed == 8  # 5 inserts, 2 updates, 1 delete
    assert report.keys == 5  # state-based: key 2's three changes cost one read and write
    assert pending(legacy) == []


def test_it_records_each_change_id_on_the_service_side(legacy):
    add_appointments(legacy, [appointment_row(1), appointment_row(2)])

    applier(legacy).drain()

    assert sorted(AppliedChange.objects.using("appointments").values_list("change_id", flat=True))
    assert AppliedChange.objects.using("appointments").count() == 2


def test_a_change_already_applied_on_the_target_is_only_marked_done(legacy):
    add_appointments(legacy, [appointment_row(1)])
    first = applier(legacy)
    first.drain()
    # The worker died after the target committed but before marking: replay the same rows.
    with legacy.begin() as conn:
        conn.exec_driver_sql("UPDATE ficus_change SET done_at_us = NULL")
    edit_before = stored()[1].source_updated_at

    report = applier(legacy).drain()

    assert (report.claimed, report.replayed, report.applied) == (1, 1, 0)
    assert stored()[1].source_updated_at == edit_before
    assert AppliedChange.objects.using("appointments").count() == 1


def test_echoes_of_ficus_own_writes_are_skipped(legacy):
    with origin_transaction(legacy) as conn:
        conn.execute(insert(ApptSched), [appointment_row(7)])

    report = applier(legacy).drain()

    assert (report.claimed, report.echoes, report.applied) == (1, 1, 0)
    assert stored() == {}
    assert pending(legacy) == []


def test_a_poison_row_goes_to_dead_letters_and_blocks_only_its_own_key(legacy):
    add_appointments(legacy, [appointment_row(k) for k in range(1, 5)])
    edit(legacy, 3, APPT_TM="2500")

    report = applier(legacy).drain()

    assert sorted(stored()) == [1, 2, 4]
    assert report.dead_lettered == 1
    with legacy.connect() as conn:
        letters = conn.execute(select(dead_letter.c.pk, dead_letter.c.reason)).all()
    assert letters == [(3, "APPT_TM: is not a time of day between 0000 and 2359")]
    assert pending(legacy) == []
    # Fixed in the legacy app: the next change of the key applies and closes the dead letter.
    edit(legacy, 3, APPT_TM="1000", UPD_TS="20261121110000")
    applier(legacy).drain()
    assert sorted(stored()) == [1, 2, 3, 4]
    with legacy.connect() as conn:
        assert conn.execute(select(dead_letter.c.resolved_at_us)).scalar_one() is not None


def test_a_patient_rename_refreshes_the_name_snapshot_of_their_appointments(legacy):
    add_appointments(legacy, [appointment_row(1, PAT_ID=1), appointment_row(2, PAT_ID=2)])
    applier(legacy).drain()
    with legacy.begin() as conn:
        conn.execute(
            update(PatientMaster).where(PatientMaster.PAT_ID == 1).values(LAST_NM="DOE-SMITH")
        )

    applier(legacy).drain()

    assert stored()[1].patient_display_name == "DOE-SMITH, JANE"
    assert stored()[2].patient_display_name == "ROE, RICHARD"


def test_shards_split_the_keys_and_together_apply_all(legacy):
    add_appointments(legacy, [appointment_row(k) for k in range(1, 11)])

    applier(legacy, shard=Shard(0, 2)).drain()
    assert sorted(stored()) == [2, 4, 6, 8, 10]
    applier(legacy, shard=Shard(1, 2)).drain()
    assert sorted(stored()) == list(range(1, 11))


def test_a_legacy_write_is_ordered_by_when_it_was_made_not_by_its_upd_ts(legacy):
    """UPD_TS is whatever the writing app stamps (here a restored backup's): the capture time
    of the write orders it, so legacy's current row wins and no drift is left behind."""
    add_appointments(legacy, [appointment_row(1, UPD_TS="20261121100500", STATUS_CD="A")])
    applier(legacy).drain()
    edit(legacy, 1, STATUS_CD="N", UPD_TS="20261121100200")  # a restored backup

    report = applier(legacy).drain()

    assert report.applied == 1
    assert stored()[1].status == Appointment.Status.NO_SHOW
    assert stored()[1].source_updated_at == datetime(2026, 11, 21, 10, 2, tzinfo=UTC)


def test_an_older_legacy_write_never_overwrites_a_newer_service_write(legacy):
    add_appointments(legacy, [appointment_row(1, REASON_TXT="BOOKED")])
    applier(legacy).drain()
    # Legacy writes first, the service a moment later, before forward sync saw legacy's.
    edit(legacy, 1, REASON_TXT="FROM LEGACY")
    past_the_last_capture(legacy)  # closer than the capture clock's resolution is a tie
    service_edit(1, reason="FROM THE SERVICE")

    report = applier(legacy).drain()

    assert report.skipped_older == 1
    assert report.conflicts == 1  # logged: the legacy write lost to a newer one
    assert stored()[1].reason == "FROM THE SERVICE"
    (logged,) = conflicts.logged(legacy)
    assert (logged.kind, logged.winner, logged.loser) == ("concurrent", "service", "legacy")


@pytest.mark.databases
def test_forward_apply_on_servers(legacy):
    add_appointments(legacy, [appointment_row(k) for k in range(1, 8)])
    edit(legacy, 5, STATUS_CD="?")
    with legacy.begin() as conn:
        conn.execute(delete(ApptSched).where(ApptSched.APPT_ID == 7))

    applier(legacy, shard=Shard(0, 2)).drain()
    applier(legacy, shard=Shard(1, 2)).drain()

    assert sorted(stored()) == [1, 2, 3, 4, 6]
    assert pending(legacy) == []


def test_pruning_drops_old_done_rows_and_their_records_only(legacy):
    add_appointments(legacy, [appointment_row(k) for k in range(1, 4)])
    applier(legacy).drain()
    add_appointments(legacy, [appointment_row(4)])  # pending: must survive any prune

    pruned = prune(legacy, feature_sync("appointments"), older_than_us=2**62)

    assert pruned == 3
    assert [pk for _id, _tbl, pk in pending(legacy)] == [4]
    assert AppliedChange.objects.using("appointments").count() == 0
    applier(legacy).drain()
    assert sorted(stored()) == [1, 2, 3, 4]
