"""The billing report: appointments LEFT JOIN charges, with totals, for BILL and ADMIN."""

from __future__ import annotations

import re

from demo.legacy.billing import report
from demo.legacy.db import fetch_value
from tests.demo.legacy.conftest import SATURDAY


def total(html, name):
    match = re.search(rf'id="total-{name}">([^<]*)<', html)
    assert match, name
    return match.group(1)


def test_totals_match_the_charges_in_the_range(billing, engine):
    html = billing.get("/billing?from=20261101&to=20261115").text
    with engine.connect() as conn:
        cents = fetch_value(
            conn,
            "SELECT SUM(C.AMT_CENTS) FROM BILL_CHARGE C JOIN APPT_SCHED A ON A.APPT_ID = C.APPT_ID"
            " WHERE A.APPT_DT BETWEEN '20261101' AND '20261115' AND A.STATUS_CD <> 'C'",
        )
        appts = fetch_value(
            conn,
            "SELECT COUNT(*) FROM APPT_SCHED WHERE APPT_DT BETWEEN '20261101' AND '20261115'"
            " AND STATUS_CD <> 'C'",
        )
    assert cents > 0
    assert total(html, "amount") == f"${cents / 100:,.2f}"
    assert total(html, "appts") == str(appts)


def test_an_appointment_without_charges_is_a_line_with_zero(billing, admin):
    booked = admin.post(
        "/api/appointments",
        {"PAT_ID": 42, "PROV_ID": 1, "APPT_DT": SATURDAY, "APPT_TM": "1000", "DUR_MIN": 15},
    ).json()["APPT_ID"]
    html = billing.get(f"/billing?from={SATURDAY}&to={SATURDAY}").text
    assert total(html, "appts") == "1"
    assert total(html, "lines") == "1"
    assert total(html, "charges") == "0"
    assert total(html, "amount") == "$0.00"
    line = re.search(rf"<tr><td>11/21/2026</td><td>10:00</td><td>{booked}</td>.*?</tr>", html)
    assert line, "the freshly booked appointment is a report line"
    assert "M0000042" in line.group(0)
    assert "$0.00" in line.group(0)


def test_the_report_adds_up_with_a_booking_in_a_busy_range(engine, clinician):
    with engine.connect() as conn:
        before = report(conn, "20261110", "20261121")
    clinician.post(
        "/api/appointments",
        {"PAT_ID": 9, "PROV_ID": 2, "APPT_DT": SATURDAY, "APPT_TM": "0800", "DUR_MIN": 15},
    )
    with engine.connect() as conn:
        after = report(conn, "20261110", "20261121")
    assert after.appointments == before.appointments + 1
    assert after.line_count == before.line_count + 1
    assert after.total_cents == before.total_cents
    assert after.line_count >= after.charge_count > 0


def test_cancelled_appointments_are_left_out(billing, clinician):
    appt = clinician.post(
        "/api/appointments",
        {"PAT_ID": 42, "PROV_ID": 1, "APPT_DT": SATURDAY, "APPT_TM": "1100", "DUR_MIN": 15},
    ).json()["APPT_ID"]
    clinician.post(f"/api/appointments/{appt}/cancel")
    assert total(billing.get(f"/billing?from={SATURDAY}&to={SATURDAY}").text, "appts") == "0"


def test_the_default_range_is_the_last_seven_days(billing):
    html = billing.get("/billing").text
    assert 'name="from" value="20261114"' in html
    assert 'name="to" value="20261120"' in html


def test_a_bad_range_is_explained(billing):
    assert "INVALID DATE" in billing.get("/billing?from=2026&to=20261120").text
    assert "FROM DATE IS AFTER TO DATE" in billing.get("/billing?from=20261120&to=20261101").text


def test_a_long_report_is_cut_but_its_totals_are_not(engine):
    with engine.connect() as conn:
        result = report(conn, "20260101", "20261231")
    assert result.truncated
    assert len(result.lines) == 2_000
    assert result.line_count > 2_000
    assert result.charge_count <= result.line_count
