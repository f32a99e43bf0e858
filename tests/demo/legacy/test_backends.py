"""The hand-written SQL is portable: init-db and the core API flows on PostgreSQL and MariaDB."""

from __future__ import annotations

import threading

import pytest

from demo.legacy import cli
from demo.legacy.app import create_app
from demo.legacy.billing import report
from demo.legacy.db import create_legacy_engine, fetch_value
from tests.demo.legacy.client import Client
from tests.demo.legacy.conftest import NOW, SATURDAY, FakeClock

pytestmark = pytest.mark.databases

SEED = ["--patients", "50", "--appointments", "400", "--providers", "3", "--anchor", "20261120"]


@pytest.fixture
def backend_engine(legacy_database_url):
    assert cli.main(["--database-url", legacy_database_url, "init-db", *SEED]) == 0
    engine = create_legacy_engine(legacy_database_url)
    yield engine
    engine.dispose()  # MariaDB cannot drop a database that still has open connections


@pytest.fixture
def backend_app(backend_engine):
    return create_app(backend_engine, clock=FakeClock(NOW))


def test_init_db_refuses_then_forces_on_the_server(legacy_database_url, backend_engine):
    assert cli.main(["--database-url", legacy_database_url, "init-db", *SEED]) == 1
    assert cli.main(["--database-url", legacy_database_url, "init-db", *SEED, "--force"]) == 0
    with backend_engine.connect() as conn:
        assert fetch_value(conn, "SELECT COUNT(*) FROM APPT_SCHED") == 400
        assert fetch_value(conn, "SELECT NEXT_VAL FROM LEGACY_SEQ WHERE SEQ_NM = 'APPT_ID'") == 401


def test_the_core_api_flows_work_on_the_server(backend_app, backend_engine):
    clinician = Client(backend_app)
    assert clinician.login("clinician").status == 302
    assert clinician.get("/api/session").json()["ROLE_CD"] == "CLIN"

    # search and get
    by_mrn = clinician.get("/api/patients?q=m0000001").json()
    assert by_mrn["COUNT"] == 1
    last_nm = by_mrn["PATIENTS"][0]["LAST_NM"]
    by_name = clinician.get(f"/api/patients?q={last_nm[:3].lower()}").json()
    assert 1 in [p["PAT_ID"] for p in by_name["PATIENTS"]]
    names = [(p["LAST_NM"], p["FIRST_NM"], p["PAT_ID"]) for p in by_name["PATIENTS"]]
    assert names == sorted(names)
    patient = clinician.get("/api/patients/1").json()
    assert patient["MRN"] == "M0000001"
    assert patient["SSN"] is None or patient["SSN"].startswith("XXX-XX-")
    assert clinician.get("/api/patients/9999").json()["CODE"] == 202

    # list and get
    day = clinician.get("/api/appointments?prov=1&date=20261120").json()
    assert day["COUNT"] == len(day["APPTS"]) > 0
    times = [(a["APPT_TM"], a["APPT_ID"]) for a in day["APPTS"]]
    assert times == sorted(times)
    first = day["APPTS"][0]
    assert clinician.get(f"/api/appointments/{first['APPT_ID']}").json() == first

    # book, double-book, reschedule, cancel twice
    body = {"PAT_ID": 7, "PROV_ID": 2, "APPT_DT": SATURDAY, "APPT_TM": "0900", "DUR_MIN": 30}
    booked = clinician.post("/api/appointments", body)
    assert booked.json() == {"RESULT": "OK", "APPT_ID": 401}
    clash = clinician.post("/api/appointments", {**body, "PAT_ID": 8, "APPT_TM": "0915"})
    assert (clash.status, clash.json()["CODE"]) == (409, 401)
    assert clinician.post("/api/appointments", {**body, "PAT_ID": 9999}).json()["CODE"] == 305
    other = clinician.post("/api/appointments", {**body, "APPT_TM": "1000"}).json()["APPT_ID"]
    moved = clinician.put(f"/api/appointments/{other}", {"APPT_DT": SATURDAY, "APPT_TM": "0915"})
    assert (moved.status, moved.json()["CODE"]) == (409, 401)
    moved = clinician.put(f"/api/appointments/{other}", {"APPT_DT": SATURDAY, "APPT_TM": "1100"})
    assert moved.json() == {"RESULT": "OK", "APPT_ID": other}
    assert clinician.post("/api/appointments/401/cancel").status == 200
    again = clinician.post("/api/appointments/401/cancel")
    assert (again.status, again.json()) == (
        409,
        {"ERR": "APPOINTMENT ALREADY CANCELLED", "CODE": 402},
    )
    shown = clinician.get("/api/appointments/401").json()
    assert (shown["STATUS_CD"], shown["UPD_TS"]) == ("C", "20261120100000")

    # pages and the billing report's LEFT JOIN and aggregates
    assert clinician.get("/schedule?prov=2&date=20261121").status == 200
    assert clinician.get("/patients/1").status == 200
    with backend_engine.connect() as conn:
        result = report(conn, SATURDAY, SATURDAY)
    assert (result.appointments, result.line_count, result.total_cents) == (1, 1, 0)
    with backend_engine.connect() as conn:
        busy = report(conn, "20261001", "20261119")
    assert busy.total_cents > 0
    assert busy.charge_count > 0


def test_concurrent_bookings_serialize_on_the_server(legacy_database_url, backend_engine):
    racers = 4
    engines = [create_legacy_engine(legacy_database_url) for _ in range(racers)]
    clients = [Client(create_app(e, clock=FakeClock(NOW))) for e in engines]
    for client in clients:
        assert client.login("scheduler").status == 302
    barrier = threading.Barrier(racers)
    statuses: list[int] = []

    def book(client: Client, pat_id: int) -> None:
        barrier.wait()
        body = {
            "PAT_ID": pat_id,
            "PROV_ID": 3,
            "APPT_DT": SATURDAY,
            "APPT_TM": "1400",
            "DUR_MIN": 15,
        }
        statuses.append(client.post("/api/appointments", body).status)

    threads = [threading.Thread(target=book, args=(c, i + 1)) for i, c in enumerate(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for engine in engines:
        engine.dispose()
    assert sorted(statuses) == [200] + [409] * (racers - 1)
