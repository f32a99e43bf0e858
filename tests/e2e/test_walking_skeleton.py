"""The walking skeleton end to end: real processes on free loopback ports, as `make demo` runs them.

A clinician logs in through the proxy and uses the unchanged legacy front end. The migrated
routes, `GET /api/appointments/{id}` and the patient reads, are answered by the extracted
services, and every other request by the legacy app: the proxy's access log says which upstream
served each.
"""

from __future__ import annotations

import time

import httpx
import pytest
from sqlalchemy import create_engine, select

from demo.launcher import Stack
from legacy_adapter.schema import ApptSched, PatientMaster
from tests.e2e.clients import access_log, logged_in, wait_for_log_lines
from tests.e2e.conftest import ANCHOR

pytestmark = pytest.mark.e2e

MIGRATED_TEMPLATE = "/api/appointments/{id:int}"


def _booked_appointment(stack: Stack) -> tuple[int, int]:
    """(APPT_ID, PROV_ID) of a booked appointment on the anchor day, read from the legacy DB."""
    engine = create_engine(stack.config.legacy_database_url)
    with engine.connect() as conn:
        row = conn.execute(
            select(ApptSched.APPT_ID, ApptSched.PROV_ID)
            .where(ApptSched.APPT_DT == ANCHOR, ApptSched.STATUS_CD == "B")
            .order_by(ApptSched.APPT_ID)
            .limit(1)
        ).one()
    engine.dispose()
    return row.APPT_ID, row.PROV_ID


def test_the_clinicians_appointment_book_loads_unchanged_through_the_proxy(stack: Stack) -> None:
    _, provider = _booked_appointment(stack)
    page = f"/schedule?prov={provider}&date={ANCHOR}"
    with logged_in(stack.config.proxy_url, "clinician") as via_proxy:
        proxied = via_proxy.get(page)
        with httpx.Client(
            base_url=stack.config.url(stack.config.ports.legacy), timeout=10
        ) as direct:
            direct.cookies.set("SESSID", via_proxy.cookies["SESSID"])
            original = direct.get(page)
            script = (
                direct.get("/static/schedule.js")
                if "/static/schedule.js" in original.text
                else None
            )
        assert proxied.status_code == original.status_code == 200
        assert proxied.headers["content-type"] == original.headers["content-type"]
        assert proxied.text == original.text
        if script is not None:
            assert via_proxy.get("/static/schedule.js").content == script.content


def test_the_migrated_route_is_served_by_the_service_and_everything_else_by_legacy(
    stack: Stack,
) -> None:
    appointment, provider = _booked_appointment(stack)
    before = len(access_log(stack))
    with logged_in(stack.config.proxy_url, "clinician") as clinician:
        day = clinician.get("/api/appointments", params={"prov": provider, "date": ANCHOR})
        one = clinician.get(f"/api/appointments/{appointment}")
        chart = clinician.get("/patients", params={"q": "ZZ"})
    assert day.status_code == one.status_code == chart.status_code == 200
    listed = {item["APPT_ID"]: item for item in day.json()["APPTS"]}
    # The service answers in the legacy contract, with the data the legacy app holds.
    assert one.json() == listed[appointment]

    entries = wait_for_log_lines(stack, before + 4)[before:]
    served = {(e["method"], e["route"]): e["upstream"] for e in entries}
    assert served[("GET", MIGRATED_TEMPLATE)] == "appointments"
    others = [e for e in entries if e["route"] != MIGRATED_TEMPLATE]
    assert len(others) >= 3  # login, the day list and the patient search
    assert {e["upstream"] for e in others} == {"legacy"}
    # The access log names route templates, never raw paths or query strings (PHI).
    raw = stack.config.access_log.read_text()
    assert "q=ZZ" not in raw
    assert f"/api/appointments/{appointment}" not in raw


def test_an_outsider_gets_the_legacy_401_from_the_service(stack: Stack) -> None:
    appointment, _ = _booked_appointment(stack)
    with httpx.Client(base_url=stack.config.proxy_url, timeout=10) as outsider:
        anonymous = outsider.get(f"/api/appointments/{appointment}")
        forged = outsider.get(
            f"/api/appointments/{appointment}", headers={"X-Ficus-Identity": "v1.e30.forged"}
        )
    legacy_401 = {"ERR": "NOT LOGGED IN", "CODE": 101}
    assert (anonymous.status_code, anonymous.json()) == (401, legacy_401)
    assert (forged.status_code, forged.json()) == (401, legacy_401)


def test_an_auditor_is_refused_patient_data_by_the_service(stack: Stack) -> None:
    appointment, _ = _booked_appointment(stack)
    with logged_in(stack.config.proxy_url, "auditor") as auditor:
        response = auditor.get(f"/api/appointments/{appointment}")
    assert (response.status_code, response.json()) == (403, {"ERR": "ACCESS DENIED", "CODE": 102})


def test_a_reschedule_in_the_legacy_app_reaches_the_service(stack: Stack) -> None:
    appointment, _ = _booked_appointment(stack)
    with logged_in(stack.config.proxy_url, "scheduler") as scheduler:
        current = scheduler.get(f"/api/appointments/{appointment}").json()
        # Move it to a slot no one else can hold: 1945 on the anchor day is outside clinic hours.
        moved = scheduler.put(
            f"/api/appointments/{appointment}",
            json={"APPT_DT": current["APPT_DT"], "APPT_TM": "1945", "DUR_MIN": current["DUR_MIN"]},
        )
        assert moved.status_code == 200, moved.text
        # The scheduler reads their own write at once: the proxy pins their reads to legacy.
        own = scheduler.get(f"/api/appointments/{appointment}")
        assert own.json()["APPT_TM"] == "1945"
    # A clinician, who wrote nothing, is served by the service; the forward sync worker carries
    # the legacy write to the service's database.
    with logged_in(stack.config.proxy_url, "clinician") as clinician:
        deadline = time.monotonic() + 30
        before = len(access_log(stack))
        seen = clinician.get(f"/api/appointments/{appointment}").json()["APPT_TM"]
        while time.monotonic() < deadline and seen != "1945":
            time.sleep(0.2)
            seen = clinician.get(f"/api/appointments/{appointment}").json()["APPT_TM"]
    assert seen == "1945"
    reads = [e for e in access_log(stack)[before:] if e["route"] == MIGRATED_TEMPLATE]
    assert reads
    assert {(e["upstream"], e["reason"]) for e in reads} == {("appointments", "route")}


def test_a_refused_write_does_not_pin_the_session(stack: Stack) -> None:
    appointment, _ = _booked_appointment(stack)
    with logged_in(stack.config.proxy_url, "scheduler") as scheduler:
        before = len(access_log(stack))
        cancelled_elsewhere = scheduler.post("/api/appointments/999999999/cancel")
        assert cancelled_elsewhere.status_code == 404  # a refused write pins nothing
        scheduler.get(f"/api/appointments/{appointment}")
        reads = [e for e in access_log(stack)[before:] if e["route"] == MIGRATED_TEMPLATE]
    assert [(e["upstream"], e["reason"]) for e in reads] == [("appointments", "route")]


def test_patient_reads_are_served_by_the_patients_service(stack: Stack) -> None:
    with logged_in(stack.config.proxy_url, "clinician") as clinician:
        before = len(access_log(stack))
        search = clinician.get("/api/patients", params={"q": "MO"})
        assert search.status_code == 200, search.text
        chart = clinician.get("/api/patients/1")
        assert chart.status_code == 200, chart.text
        assert chart.json()["SSN"].startswith("XXX-XX-")  # masked, as legacy does
        entries = wait_for_log_lines(stack, before + 2)[before:]
    served = {(e["route"], e["upstream"]) for e in entries}
    assert ("/api/patients", "patients") in served
    assert ("/api/patients/{id:int}", "patients") in served


def test_the_stack_logs_no_patient_identifiers(stack: Stack) -> None:
    # Runs after the other tests in this module, so the logs hold a whole session's traffic.
    engine = create_engine(stack.config.legacy_database_url)
    with engine.connect() as conn:
        patients = conn.execute(
            select(
                PatientMaster.MRN,
                PatientMaster.SSN,
                PatientMaster.LAST_NM,
                PatientMaster.FIRST_NM,
                PatientMaster.DOB,
            )
        ).all()
    engine.dispose()
    logs = "\n".join(p.read_text(errors="replace") for p in stack.config.log_dir.glob("*.log"))
    assert logs  # the processes did log; the check below is not vacuous
    for patient in patients:
        if patient.SSN:
            assert patient.SSN not in logs
        assert patient.MRN not in logs
        assert f"{patient.LAST_NM}, {patient.FIRST_NM}" not in logs
        # Birth dates in both spellings (legacy CHAR(8) and the modern API's ISO date). Only
        # pre-2020 ones: a recent birth date can equal a log timestamp's date by chance.
        if patient.DOB < "2020":
            iso = f"{patient.DOB[:4]}-{patient.DOB[4:6]}-{patient.DOB[6:]}"
            assert patient.DOB not in logs
            assert iso not in logs
    assert "q=ZZ" not in logs
