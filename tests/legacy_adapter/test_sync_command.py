"""`manage.py sync`: install, check, backfill, run, status, reconcile and dead letters, as an
operator would type them."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from sqlalchemy import create_engine, delete, inspect, text, update

from extracted.appointments.models import Appointment
from legacy_adapter.capture_reconcile import present_triggers
from legacy_adapter.schema import ApptSched
from tests.legacy_adapter.legacy_db import (
    add_appointments,
    add_patient,
    appointment_row,
    create_legacy_schema,
)

pytestmark = pytest.mark.django_db(databases=["default", "appointments", "patients"])


@pytest.fixture
def legacy(legacy_database_url, settings):
    settings.LEGACY_DATABASE_URL = legacy_database_url
    settings.FICUS_HOSPITAL_TZ = "America/Chicago"
    engine = create_engine(legacy_database_url)
    create_legacy_schema(engine)
    add_patient(engine, 1)
    add_appointments(
        engine, [appointment_row(key, UPD_TS=f"202501010{key}0000") for key in (1, 2, 3)]
    )
    yield engine
    engine.dispose()


def sync(*args: str) -> str:
    out = StringIO()
    call_command("sync", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def edit(engine, appt_id: int, **values) -> None:
    with engine.begin() as conn:
        conn.execute(update(ApptSched).where(ApptSched.APPT_ID == appt_id).values(**values))


def test_install_adds_the_ficus_tables_and_triggers_and_check_then_finds_nothing(legacy):
    with pytest.raises(CommandError, match="difference"):
        sync("check")

    assert "at revision 0005 (was None)" in sync("install")
    tables = inspect(legacy).get_table_names()
    assert {"ficus_sync_checkpoint", "ficus_change", "ficus_dead_letter"} <= set(tables)
    assert "match" in sync("check")


def test_backfill_installs_copies_and_shows_a_progress_bar_on_stderr(legacy):
    err = StringIO()
    out = StringIO()
    call_command("sync", "backfill", "appointments", stdout=out, stderr=err)

    assert "backfill: read 3, applied 3, unchanged 0, skipped as older 0, failed 0" in (
        out.getvalue()
    )
    assert "backfill [##############################] 100% 3/3 failed 0" in err.getvalue()
    assert sorted(Appointment.objects.values_list("pk", flat=True)) == [1, 2, 3]


def test_backfill_dead_letters_unmappable_rows_and_exits_non_zero_after_the_rest(legacy):
    edit(legacy, 2, STATUS_CD="Q")
    out = StringIO()

    with pytest.raises(CommandError, match=r"1 row\(s\) could not be mapped"):
        call_command("sync", "backfill", "appointments", stdout=out, stderr=StringIO())

    assert "failed key 2: STATUS_CD: is not one of the codes A, B, C, N" in out.getvalue()
    assert sorted(Appointment.objects.values_list("pk", flat=True)) == [1, 3]
    assert "appointments forward APPT_SCHED key 2: STATUS_CD" in sync("dead-letters")


def test_run_once_applies_the_captured_changes(legacy):
    sync("backfill", "appointments")
    edit(legacy, 1, STATUS_CD="A", UPD_TS="20250102080000")
    with legacy.begin() as conn:
        conn.execute(delete(ApptSched).where(ApptSched.APPT_ID == 3))

    out = sync("run", "--feature", "appointments", "--direction", "forward", "--once")

    assert "appointments forward: claimed 2, applied 1, unchanged 0" in out
    assert "deleted 1" in out
    assert Appointment.objects.get(pk=1).status == Appointment.Status.ARRIVED
    assert not Appointment.objects.filter(pk=3).exists()


def test_status_shows_backlog_dead_letters_and_the_last_reconcile(legacy):
    sync("install")
    edit(legacy, 2, STATUS_CD="Q")

    before = sync("status")
    sync("run", "--feature", "appointments", "--direction", "forward", "--once")
    sync("reconcile", "appointments")
    after = sync("status")

    # Rows written before install were never captured (backfill copies those): one change.
    # The plan leaves every appointment write with legacy: legacy owns every record.
    assert before.splitlines()[1].split()[:3] == ["appointments", "legacy", "1"]
    row = after.splitlines()[1].split()
    assert row[:3] == ["appointments", "legacy", "0"]
    assert row[5] == "1"  # key 2 is a dead letter
    assert row[6] == "0"  # no conflict logged
    assert "drift 3 (APPT_SCHED -> appointments: 3)" in after  # 1 and 3 not backfilled


def test_reconcile_reports_drift_per_table_and_repair_fixes_it(legacy):
    sync("backfill", "appointments")
    Appointment.objects.filter(pk=2).update(reason="CHANGED BEHIND OUR BACK")
    Appointment.objects.filter(pk=3).delete()

    out = sync("reconcile", "appointments", "--repair")

    assert (
        "APPT_SCHED -> appointments: missing in service 1, extra in service 0, different 1" in out
    )
    # Legacy owns both records: its state is put back on the service, and repair says what it
    # changed only after comparing both sides again.
    assert "repaired 2 key(s), each to its owner's state (2 owned by legacy" in out
    assert "drift rows: 0" in sync("reconcile", "appointments")
    assert Appointment.objects.get(pk=2).reason == "FOLLOW UP"


def test_commands_refuse_before_install_and_refuse_a_bad_shard(legacy):
    with pytest.raises(CommandError, match="sync install"):
        sync("run", "--feature", "appointments", "--once")
    sync("install")
    with pytest.raises(CommandError, match="need 0 <= K < N"):
        sync("run", "--feature", "appointments", "--once", "--shard", "3/2")


def test_uninstall_capture_drops_the_triggers(legacy):
    sync("install")
    sync("uninstall-capture")
    edit(legacy, 1, STATUS_CD="C")

    with pytest.raises(CommandError, match="sync install"):
        sync("status")
    sync("install")
    edit(legacy, 1, STATUS_CD="A")
    out = sync("run", "--feature", "appointments", "--direction", "forward", "--once")
    assert "claimed 1," in out


def test_run_refuses_capture_that_does_not_match_the_plans_until_install(legacy):
    """The triggers follow the plans' tables, not a revision: one missing (a table newly in a
    plan, or a trigger someone dropped) means its writes would never be captured, so the
    worker refuses to start, naming it, until `sync install` reconciles them."""
    sync("install")
    with legacy.begin() as conn:
        dropped = sorted(present_triggers(conn))[0]
        conn.execute(text(f"DROP TRIGGER {dropped}"))

    with pytest.raises(CommandError, match=f"do not match the plans \\({dropped}\\)"):
        sync("run", "--feature", "appointments", "--once")
    sync("install")
    assert "drained" in sync("run", "--feature", "appointments", "--once")
