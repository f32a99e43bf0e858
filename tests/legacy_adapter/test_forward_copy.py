"""Backfill legacy → appointments service in checkpointed key ranges, through the real sink."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, select, update

from extracted.appointments.models import Appointment
from extracted.appointments.services import apply_legacy_appointments
from legacy_adapter import migrations
from legacy_adapter.checkpoints import BACKFILL, DONE, RUNNING
from legacy_adapter.features import feature_sync
from legacy_adapter.ficus_tables import dead_letter
from legacy_adapter.forward_apply import FORWARD
from legacy_adapter.forward_copy import Backfill
from legacy_adapter.mapping import appointments
from legacy_adapter.schema import ApptSched
from legacy_adapter.sources import legacy_source
from tests.legacy_adapter.legacy_db import (
    add_appointments,
    add_patient,
    appointment_row,
    create_legacy_schema,
)

pytestmark = pytest.mark.django_db(databases=["default", "appointments"])


@pytest.fixture
def legacy(legacy_database_url):
    engine = create_engine(legacy_database_url)
    create_legacy_schema(engine)
    migrations.upgrade(engine)
    add_patient(engine, 1, "DOE", "JANE")
    add_patient(engine, 2, "ROE", "RICHARD")
    yield engine
    engine.dispose()


def seed(engine, count: int) -> None:
    add_appointments(
        engine,
        [
            appointment_row(
                key,
                PAT_ID=1 + key % 2,
                APPT_TM=f"{8 + key % 9:02d}{(key * 5) % 60:02d}",
                UPD_TS=f"202611200{key % 10}{key % 60:02d}00",
            )
            for key in range(1, count + 1)
        ],
    )


def backfill(engine, sink=None, batch_size: int = 7) -> Backfill:
    sync = feature_sync("appointments")
    return Backfill(engine, sync.source, sink or sync.target.backfill_apply, batch_size=batch_size)


def edit(engine, appt_id: int, **values) -> None:
    with engine.begin() as conn:
        conn.execute(update(ApptSched).where(ApptSched.APPT_ID == appt_id).values(**values))


def stored() -> dict[int, Appointment]:
    return Appointment.objects.in_bulk()


def test_backfill_copies_every_row_in_bounded_batches(legacy):
    seed(legacy, 25)
    sizes: list[int] = []
    sink = feature_sync("appointments").target.backfill_apply

    def counting_sink(*, records, versions=None):
        sizes.append(len(records))
        return sink(records=records, versions=versions)

    report = backfill(legacy, counting_sink).run()

    assert (report.read, report.applied, report.failed, report.total) == (25, 25, 0, 25)
    assert sizes == [7, 7, 7, 4]
    rows = stored()
    assert sorted(rows) == list(range(1, 26))
    assert rows[4].patient_display_name == "DOE, JANE"
    assert rows[5].starts_at == datetime(2026, 11, 21, 19, 25, tzinfo=UTC)  # 13:25 CST


def test_an_interrupted_backfill_resumes_after_the_last_saved_key(legacy):
    seed(legacy, 25)
    calls = []
    sink = feature_sync("appointments").target.backfill_apply

    def failing_on_third_batch(*, records, versions=None):
        calls.append(len(records))
        if len(calls) >= 3:  # and stays away: the chunk is tried three times, then given up
            raise RuntimeError("service database went away")
        return sink(records=records, versions=versions)

    with pytest.raises(RuntimeError):
        backfill(legacy, failing_on_third_batch).run()
    job = backfill(legacy)
    interrupted = job.checkpoints.get("appointments", FORWARD, BACKFILL)
    assert interrupted is not None
    assert (interrupted.state, interrupted.last_key) == (RUNNING, 14)
    assert calls == [7, 7, 7, 7, 7]

    resumed = job.run()

    assert resumed.resumed_after == 14
    assert (resumed.read, resumed.applied) == (11, 11)
    assert sorted(stored()) == list(range(1, 26))
    done = job.checkpoints.get("appointments", FORWARD, BACKFILL)
    assert done is not None
    assert (done.state, done.last_key) == (DONE, 25)


def test_a_finished_backfill_run_again_starts_over_and_changes_nothing(legacy):
    seed(legacy, 10)
    backfill(legacy).run()

    again = backfill(legacy).run()

    assert again.resumed_after is None
    assert (again.read, again.applied, again.unchanged) == (10, 0, 10)


def test_backfill_never_overwrites_a_row_of_the_same_version(legacy):
    # A live change applied first, then the backfill arrives with a read from just before it
    # (same one-second UPD_TS, older content): the live change keeps the last word.
    seed(legacy, 3)
    backfill(legacy).run()
    Appointment.objects.filter(pk=2).update(reason="LIVE EDIT")

    report = backfill(legacy).run()

    assert report.applied == 0
    assert stored()[2].reason == "LIVE EDIT"


def test_a_poison_row_is_dead_lettered_and_every_other_row_copied(legacy, caplog):
    seed(legacy, 20)
    edit(legacy, 5, APPT_TM="2500")
    edit(legacy, 9, APPT_DT="20260308", APPT_TM="0230")  # in Chicago's spring-forward gap
    caplog.set_level(logging.WARNING, logger="ficus.sync")

    report = backfill(legacy).run()

    assert (report.read, report.applied, report.failed) == (20, 18, 2)
    assert [(f.key, f.problem) for f in report.failures] == [
        (5, "APPT_TM: is not a time of day between 0000 and 2359"),
        (9, "APPT_DT+APPT_TM: is in the daylight-saving gap of America/Chicago: "
            "that local time never happened"),
    ]  # fmt: skip
    assert sorted(stored()) == [key for key in range(1, 21) if key not in (5, 9)]
    with legacy.connect() as conn:
        assert sorted(conn.execute(select(dead_letter.c.pk)).scalars()) == [5, 9]
    assert "2500" not in caplog.text  # never the values
    assert "0230" not in caplog.text


def test_a_backfill_into_the_services_own_sink_copies_an_orphan_appointment(legacy):
    add_appointments(legacy, [appointment_row(1, PAT_ID=999)])

    report = Backfill(
        legacy, legacy_source(appointments.source("America/Chicago")), apply_legacy_appointments
    ).run()

    assert (report.read, report.failed) == (1, 0)
    assert stored()[1].patient_display_name == ""  # the patient row is missing


@pytest.mark.databases
def test_backfill_on_servers(legacy):
    seed(legacy, 25)
    edit(legacy, 7, STATUS_CD="?")

    report = backfill(legacy).run()

    assert (report.read, report.applied, report.failed) == (25, 24, 1)
    assert len(stored()) == 24
