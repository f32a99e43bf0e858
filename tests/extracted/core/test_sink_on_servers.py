"""The sinks on a real PostgreSQL service database: the guard, PHI tokens, deletes, row locks.

Django reads its databases once, at start, so the services run in a child process whose
FICUS_DB_*_URL point at two fresh PostgreSQL databases; the child migrates them, drives the
sinks and prints what it saw as JSON. The lock check holds a sink's transaction open in one
thread while another asks for the same row with FOR UPDATE NOWAIT. (MariaDB is not run: Django's
MySQL backend needs mysqlclient, which this environment does not install.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from tests.support.databases import fresh_database

pytestmark = pytest.mark.databases

REPO = Path(__file__).resolve().parents[3]
CHILD = """
import json, threading
import django
django.setup()
from django.core.management import call_command
from django.db import DatabaseError, IntegrityError, connections, transaction
from extracted.appointments.models import Appointment
from extracted.appointments.services import apply_legacy_appointments, delete_legacy_appointments
from extracted.patients.models import Patient
from extracted.patients.services import apply_legacy_patients, delete_legacy_patients
from tests.extracted.core.sink_records import V1, V2, appointment, patient

for alias in ("appointments", "patients"):
    call_command("migrate", database=alias, verbosity=0)
out = {}
apply_legacy_appointments(records=[appointment(k, reason="A") for k in (1, 2, 3, 4)])
res = apply_legacy_appointments(records=[
    appointment(1, reason="A"), appointment(2, reason="B"),
    appointment(3, reason="C", source_updated_at=V2), appointment(5, reason="E"),
])
out["mixed"] = [res.applied, res.unchanged, res.skipped_older]
res = apply_legacy_appointments(records=[appointment(3, reason="OLD", source_updated_at=V1)])
out["older"] = [res.applied, res.unchanged, res.skipped_older]
out["reasons"] = dict(Appointment.objects.values_list("pk", "reason"))
out["deleted"] = delete_legacy_appointments(ids=[4, 5, 99])
try:  # duration 0 violates a check constraint: the whole batch must roll back, as IntegrityError
    apply_legacy_appointments(records=[appointment(50), appointment(51, duration_minutes=0)])
    out["bad_batch"] = "applied"
except IntegrityError:
    out["bad_batch"] = "IntegrityError"
out["after_bad"] = Appointment.objects.filter(pk__in=[50, 51]).count()

apply_legacy_patients(records=[patient(17)])
apply_legacy_patients(records=[patient(17, phone="(312) 555-0199", source_updated_at=V2)])
with connections["patients"].cursor() as cursor:
    cursor.execute(f"SELECT phone FROM {Patient._meta.db_table} WHERE id = 17")
    out["raw_phone"] = cursor.fetchone()[0]
out["phone"] = Patient.objects.get(pk=17).phone
out["patients_deleted"] = delete_legacy_patients(ids=[17])

from extracted.core.db_prep import preparer
sample_a, sample_p = appointment(1), patient(17)
out["prep_mismatches"] = [
    f"{model.__name__}.{field.name}"
    for model, record in ((Appointment, sample_a), (Patient, sample_p))
    for field in model._meta.concrete_fields
    if field.name not in ("ssn", "phone", "address_line")  # randomized tokens: never equal
    and field.name != "sync_version"  # written from the versions sync passes, not the record
    for value in [getattr(record, field.name)]
    for made, want in [(
        preparer(field, connections["appointments"])(value),
        field.get_db_prep_value(getattr(value, "value", value), connections["appointments"]),
    )]
    if made != want or type(made) is not type(want)
]

held, done = threading.Event(), threading.Event()
def lock(pk):
    return Appointment.objects.select_for_update(nowait=True).filter(pk=pk).exists()
def other():
    held.wait(30)
    try:
        with transaction.atomic(using="appointments"):
            out["same_row"] = lock(1)
    except DatabaseError:
        out["same_row"] = "locked"
    with transaction.atomic(using="appointments"):
        out["other_row"] = lock(2)
    connections.close_all()
    done.set()
worker = threading.Thread(target=other)
worker.start()
with transaction.atomic(using="appointments"):
    # A replay writes nothing, so only the sink's FOR UPDATE read can hold the row.
    res = apply_legacy_appointments(records=[appointment(1, reason="A")])
    out["replay"] = [res.applied, res.unchanged, res.skipped_older]
    held.set()
    done.wait(30)
worker.join()
print(json.dumps(out))
"""


def django_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def test_it_keeps_every_sink_guarantee_on_postgresql(tmp_path):
    appointments_dir, patients_dir = tmp_path / "a", tmp_path / "p"
    appointments_dir.mkdir()
    patients_dir.mkdir()
    with (
        fresh_database("postgresql", appointments_dir) as appointments_url,
        fresh_database("postgresql", patients_dir) as patients_url,
    ):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("FICUS_", "DJANGO_"))}
        env.update(
            DJANGO_SETTINGS_MODULE="extracted.settings",
            FICUS_VAR_DIR=str(tmp_path),
            FICUS_DB_DEFAULT_URL=f"sqlite:///{tmp_path / 'control.sqlite3'}",
            FICUS_DB_APPOINTMENTS_URL=django_url(appointments_url),
            FICUS_DB_PATIENTS_URL=django_url(patients_url),
            FICUS_PHI_KEY=Fernet.generate_key().decode(),
        )
        done = subprocess.run(
            [sys.executable, "-c", CHILD], cwd=REPO, env=env, capture_output=True, text=True,
            timeout=120,
        )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])

    assert seen["mixed"] == [3, 1, 0]  # 2 same-second edit, 3 newer, 5 new; 1 a replay
    assert seen["older"] == [0, 0, 1]
    assert seen["reasons"] == {"1": "A", "2": "B", "3": "C", "4": "A", "5": "E"}
    assert seen["deleted"] == 2
    assert (seen["bad_batch"], seen["after_bad"]) == ("IntegrityError", 0)
    assert "0199" not in seen["raw_phone"]
    assert seen["phone"] == "(312) 555-0199"
    assert seen["patients_deleted"] == 1
    assert seen["prep_mismatches"] == []
    assert seen["replay"] == [0, 1, 0]
    assert seen["same_row"] == "locked"  # the sink holds the row it read until it commits
    assert seen["other_row"] is True
