"""`manage.py sync`: install, check, backfill and run, as an operator would type them."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from sqlalchemy import create_engine, inspect, update

from extracted.appointments.models import Appointment
from legacy_adapter.schema import ApptSched
from tests.legacy_adapter.legacy_db import (
    add_appointments,
    add_patient,
    appointment_row,
    create_legacy_schema,
)

pytestmark = pytest.mark.django_db(databases=["default", "appointments"])


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
    call_command("sync", *args, stdout=out)
    return out.getvalue()


def test_install_adds_the_ficus_tables_and_check_then_finds_nothing(legacy):
    with pytest.raises(CommandError, match="difference"):
        sync("check")

    assert "ficus_* tables at revision 0001 (was None)" in sync("install")
    assert "ficus_sync_checkpoint" in inspect(legacy).get_table_names()
    assert "match" in sync("check")


def test_backfill_installs_copies_and_summarizes(legacy):
    out = sync("backfill", "appointments")

    assert "backfill: read 3, applied 3, unchanged 0, skipped as older 0, failed 0" in out
    assert sorted(Appointment.objects.values_list("pk", flat=True)) == [1, 2, 3]


def test_backfill_lists_unmappable_rows_and_exits_non_zero_after_copying_the_rest(legacy):
    with legacy.begin() as conn:
        conn.execute(update(ApptSched).where(ApptSched.APPT_ID == 2).values(STATUS_CD="Q"))
    out = StringIO()

    with pytest.raises(CommandError, match=r"1 row\(s\) could not be mapped"):
        call_command("sync", "backfill", "appointments", stdout=out)

    assert "failed key 2: STATUS_CD: is not one of the codes A, B, C, N" in out.getvalue()
    assert sorted(Appointment.objects.values_list("pk", flat=True)) == [1, 3]


def test_run_once_copies_what_changed_since_the_backfill(legacy):
    sync("backfill", "appointments")
    with legacy.begin() as conn:
        conn.execute(
            update(ApptSched)
            .where(ApptSched.APPT_ID == 1)
            .values(STATUS_CD="A", UPD_TS="20250102080000")
        )

    out = sync("run", "--feature", "appointments", "--direction", "forward", "--once")

    assert "applied 1" in out
    assert "watermark 20250102080000" in out
    assert Appointment.objects.get(pk=1).status == Appointment.Status.ARRIVED


def test_run_refuses_before_install_and_refuses_reverse(legacy):
    with pytest.raises(CommandError, match="sync install"):
        sync("run", "--feature", "appointments", "--direction", "forward", "--once")
    sync("install")
    with pytest.raises(CommandError, match=r"reverse sync .* is not built yet"):
        sync("run", "--feature", "appointments", "--direction", "reverse", "--once")
