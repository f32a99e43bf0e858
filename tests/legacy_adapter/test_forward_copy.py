"""Forward copy legacy → appointments service, through the real service sink.

Each test gets a fresh legacy database (SQLite file; PostgreSQL and MariaDB for the tests
marked `databases`) and the service's test database, and checks what arrived on the service
side, not just what the copier says.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, update

from extracted.appointments.models import Appointment
from extracted.appointments.services import apply_legacy_appointments
from legacy_adapter import migrations
from legacy_adapter.checkpoints import BACKFILL, DONE, INCREMENTAL, RUNNING
from legacy_adapter.forward_copy import FORWARD, AppointmentsForwardCopy
from legacy_adapter.schema import ApptSched
from tests.legacy_adapter.legacy_db import (
    add_appointments,
    add_patient,
    appointment_row,
    create_legacy_schema,
)

pytestmark = pytest.mark.django_db(databases=["default", "appointments"])

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
ZONE = "America/Chicago"


@pytest.fixture
def legacy(legacy_database_url):
    engine = create_engine(legacy_database_url)
    create_legacy_schema(engine)
    migrations.upgrade(engine)
    add_patient(engine, 1, "DOE", "JANE")
    add_patient(engine, 2, "ROE", "RICHARD")
    yield engine
    engine.dispose()


def seed(engine, count: int, **changes) -> None:
    add_appointments(
        engine,
        [
            appointment_row(
                key,
                PAT_ID=1 + key % 2,
                APPT_TM=f"{8 + key % 9:02d}{(key * 5) % 60:02d}",
                UPD_TS=f"202611200{key % 10}{key % 60:02d}00",
                **changes,
            )
            for key in range(1, count + 1)
        ],
    )


def copier(engine, sink=apply_legacy_appointments, batch_size: int = 7) -> AppointmentsForwardCopy:
    return AppointmentsForwardCopy(
        engine, sink, zone_name=ZONE, batch_size=batch_size, clock=lambda: NOW
    )


def edit(engine, appt_id: int, **values) -> None:
    with engine.begin() as conn:
        conn.execute(update(ApptSched).where(ApptSched.APPT_ID == appt_id).values(**values))


def stored() -> dict[int, Appointment]:
    return Appointment.objects.in_bulk()


def test_backfill_copies_every_row_in_bounded_batches(legacy):
    seed(legacy, 25)
    batch_sizes: list[int] = []

    def counting_sink(*, records):
        batch_sizes.append(len(records))
        return apply_legacy_appointments(records=records)

    report = copier(legacy, counting_sink).backfill()

    assert (report.read, report.applied, report.failed, report.total) == (25, 25, 0, 25)
    assert batch_sizes == [7, 7, 7, 4]
    rows = stored()
    assert sorted(rows) == list(range(1, 26))
    assert rows[4].patient_display_name == "DOE, JANE"
    assert rows[5].patient_display_name == "ROE, RICHARD"
    assert rows[5].starts_at == datetime(2026, 11, 21, 19, 25, tzinfo=UTC)  # 13:25 CST
    assert rows[5].status == Appointment.Status.BOOKED


def test_backfill_records_where_it_got_and_hands_the_watermark_over(legacy):
    seed(legacy, 25)
    job = copier(legacy)

    job.backfill()

    done = job.checkpoints.get("appointments", FORWARD, BACKFILL)
    incremental = job.checkpoints.get("appointments", FORWARD, INCREMENTAL)
    assert done is not None
    assert (done.state, done.last_key) == (DONE, 25)
    assert incremental is not None
    assert (
        incremental.watermark == "20261120091900"
    )  # MAX(UPD_TS) when the backfill started (key 19)


def test_an_interrupted_backfill_resumes_after_the_last_saved_key(legacy):
    seed(legacy, 25)
    calls = []

    def failing_on_third_batch(*, records):
        calls.append([r.id for r in records])
        if len(calls) == 3:
            raise RuntimeError("service database went away")
        return apply_legacy_appointments(records=records)

    with pytest.raises(RuntimeError):
        copier(legacy, failing_on_third_batch).backfill()
    job = copier(legacy)
    interrupted = job.checkpoints.get("appointments", FORWARD, BACKFILL)
    assert interrupted is not None
    assert (interrupted.state, interrupted.last_key) == (RUNNING, 14)
    assert sorted(stored()) == list(range(1, 15))

    resumed = job.backfill()

    assert resumed.resumed_after == 14
    assert (resumed.read, resumed.applied) == (11, 11)
    assert sorted(stored()) == list(range(1, 26))


def test_a_finished_backfill_run_again_starts_over_and_changes_nothing(legacy):
    seed(legacy, 10)
    copier(legacy).backfill()

    again = copier(legacy).backfill()

    assert again.resumed_after is None
    assert (again.read, again.applied, again.unchanged) == (10, 0, 10)


def test_a_poison_row_is_reported_and_every_other_row_copied(legacy, caplog):
    seed(legacy, 20)
    edit(legacy, 5, APPT_TM="2500")
    edit(legacy, 9, APPT_DT="20260308", APPT_TM="0230")  # in Chicago's spring-forward gap
    caplog.set_level(logging.WARNING, logger="ficus.sync")

    report = copier(legacy).backfill()

    assert (report.read, report.applied, report.failed) == (20, 18, 2)
    assert [(f.key, f.problem) for f in report.failures] == [
        (5, "APPT_TM: is not a time of day between 0000 and 2359"),
        (9, "APPT_DT+APPT_TM: is in the daylight-saving gap of America/Chicago: "
            "that local time never happened"),
    ]  # fmt: skip
    assert sorted(stored()) == [key for key in range(1, 21) if key not in (5, 9)]
    logged = caplog.text
    assert "appointments row 5 cannot be mapped" in logged
    assert "2500" not in logged  # never the values
    assert "0230" not in logged


def test_a_missing_patient_row_copies_with_the_empty_name_legacy_shows(legacy):
    add_appointments(legacy, [appointment_row(1, PAT_ID=999)])

    copier(legacy).backfill()

    assert stored()[1].patient_display_name == ""


def test_incremental_picks_up_an_edited_row(legacy):
    seed(legacy, 12)
    copier(legacy).backfill()
    edit(legacy, 3, STATUS_CD="C", REASON_TXT="PATIENT CALLED", UPD_TS="20261121100000")

    report = copier(legacy).incremental()

    assert report.applied == 1
    assert report.read >= 1  # plus whatever the overlap window re-read, unchanged
    assert report.read == report.applied + report.unchanged
    row = stored()[3]
    assert (row.status, row.reason) == (Appointment.Status.CANCELLED, "PATIENT CALLED")
    assert row.source_updated_at == datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
    assert report.watermark == "20261121100000"


def test_incremental_never_lets_an_older_upd_ts_overwrite_a_newer_one(legacy):
    seed(legacy, 12)
    copier(legacy).backfill()
    edit(legacy, 3, STATUS_CD="A", UPD_TS="20261121100500")
    copier(legacy).incremental()
    # The legacy row now carries an older version (a restored backup, a skewed clock), still
    # inside the overlap window the next pass re-reads.
    edit(legacy, 3, STATUS_CD="N", UPD_TS="20261121100200")

    report = copier(legacy).incremental()

    assert report.skipped_older == 1
    assert report.applied == 0
    row = stored()[3]
    assert row.status == Appointment.Status.ARRIVED
    assert row.source_updated_at == datetime(2026, 11, 21, 10, 5, tzinfo=UTC)


def test_incremental_pages_through_more_rows_than_one_batch(legacy):
    seed(legacy, 30)
    copier(legacy).backfill()
    for key in range(1, 31):
        edit(legacy, key, DUR_MIN=30, UPD_TS="20261121110000")  # all share one UPD_TS

    report = copier(legacy, batch_size=4).incremental()

    assert (report.read, report.applied) == (30, 30)
    assert {row.duration_minutes for row in stored().values()} == {30}


def test_the_watermark_never_moves_past_the_present(legacy):
    seed(legacy, 3)
    copier(legacy).backfill()
    edit(legacy, 2, UPD_TS="20991231235959", STATUS_CD="C")  # a legacy server with a bad clock

    report = copier(legacy).incremental()

    assert report.applied == 1
    assert report.watermark == "20261121120000"  # NOW, not 2099
    edit(legacy, 1, UPD_TS="20261121115900", STATUS_CD="A")  # a later, honest edit is still seen
    assert copier(legacy).incremental().applied == 1
    assert stored()[1].status == Appointment.Status.ARRIVED


@pytest.mark.databases
def test_backfill_and_incremental_on_servers(legacy):
    seed(legacy, 25)
    edit(legacy, 7, STATUS_CD="?")

    first = copier(legacy).backfill()
    edit(legacy, 3, STATUS_CD="C", UPD_TS="20261121100000")
    second = copier(legacy).incremental()

    assert (first.read, first.applied, first.failed) == (25, 24, 1)
    assert [f.key for f in first.failures] == [7]
    assert second.applied == 1
    rows = stored()
    assert len(rows) == 24
    assert rows[3].status == Appointment.Status.CANCELLED
    assert rows[4].patient_display_name == "DOE, JANE"
