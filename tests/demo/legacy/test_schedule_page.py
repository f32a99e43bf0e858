"""The server-rendered pages: home, patient search, chart, and the appointment book's shell."""

from __future__ import annotations

import re

from demo.legacy.db import execute, write_transaction
from tests.demo.legacy.conftest import query_one


def links(html):
    return re.findall(r'(?:href|src|action)="([^"]*)"', html)


def test_home_offers_the_clinicians_own_schedule(clinician):
    page = clinician.get("/")
    assert page.status == 200
    assert "text/html; charset=utf-8" == page.header("Content-Type")
    assert page.header("Cache-Control") == "no-store"
    assert 'href="/schedule?prov=1&amp;date=20261120"' in page.text
    assert 'href="/patients"' in page.text
    assert 'href="/billing"' not in page.text
    assert 'action="/logout"' in page.text


def test_home_offers_billing_to_the_billing_clerk(billing):
    page = billing.get("/").text
    assert 'href="/billing"' in page
    assert "My schedule" not in page


def test_every_link_is_a_relative_path(clinician, admin):
    for client, url in [
        (clinician, "/"),
        (clinician, "/schedule"),
        (admin, "/billing"),
        (clinician, "/patients/1"),
    ]:
        for link in links(client.get(url).text):
            assert link.startswith("/"), link
            assert not link.startswith("//"), link
            assert "://" not in link, link


def test_the_patient_search_page_lists_hits_with_chart_links(clinician):
    page = clinician.get("/patients?q=M0000042")
    assert page.status == 200
    assert 'href="/patients/42"' in page.text
    assert "M0000042" in page.text


def test_the_patient_search_page_says_search_too_short(clinician):
    page = clinician.get("/patients?q=a")
    assert page.status == 200
    assert "SEARCH TOO SHORT" in page.text


def test_the_chart_shows_demographics_masked_and_the_appointments(clinician, engine):
    appt = query_one(
        engine,
        "SELECT A.* FROM APPT_SCHED A JOIN PATIENT_MASTER P ON P.PAT_ID = A.PAT_ID"
        " WHERE P.SSN IS NOT NULL ORDER BY A.APPT_ID LIMIT 1",
    )
    patient = query_one(
        engine, "SELECT * FROM PATIENT_MASTER WHERE PAT_ID = :p", {"p": appt["PAT_ID"]}
    )
    page = clinician.get(f"/patients/{patient['PAT_ID']}").text
    assert patient["MRN"] in page
    assert f"XXX-XX-{patient['SSN'][-4:]}" in page
    assert patient["SSN"] not in page
    assert f'href="/schedule?prov={appt["PROV_ID"]}&amp;date={appt["APPT_DT"]}"' in page


def test_an_unknown_chart_is_a_404_page(clinician):
    page = clinician.get("/patients/999999")
    assert page.status == 404
    assert "PATIENT NOT FOUND" in page.text


def test_everything_on_a_page_is_html_escaped(clinician, engine):
    with write_transaction(engine) as conn:
        execute(
            conn,
            "UPDATE PATIENT_MASTER SET LAST_NM = '<SCRIPT>ALERT(1)</SCRIPT>',"
            " FIRST_NM = 'A\"B' WHERE PAT_ID = 7",
        )
    page = clinician.get("/patients/7").text
    assert "<SCRIPT>" not in page
    assert "&lt;SCRIPT&gt;ALERT(1)&lt;/SCRIPT&gt;" in page
    search = clinician.get("/patients?q=%22%3E%3Cb%3Ex").text
    assert '"><b>x' not in search
    assert "&quot;&gt;&lt;b&gt;x" in search


def test_the_schedule_page_sets_up_the_day_for_the_script(clinician):
    page = clinician.get("/schedule?prov=2&date=20261118")
    assert page.status == 200
    html = page.text
    assert 'data-prov="2" data-date="20261118" data-can-book="1"' in html
    assert '<script src="/static/schedule.js"></script>' in html
    assert '<option value="2" selected>' in html
    assert 'href="/schedule?prov=2&amp;date=20261117"' in html  # previous day
    assert 'href="/schedule?prov=2&amp;date=20261119"' in html  # next day
    assert 'href="/schedule?prov=2&amp;date=20261120"' in html  # today
    assert 'id="book-form"' in html


def test_the_schedule_defaults_to_the_clinicians_provider_and_today(clinician):
    html = clinician.get("/schedule").text
    assert 'data-prov="1" data-date="20261120"' in html


def test_the_schedule_crosses_month_and_year_ends(clinician):
    html = clinician.get("/schedule?prov=1&date=20261231").text
    assert 'href="/schedule?prov=1&amp;date=20270101"' in html
    assert 'href="/schedule?prov=1&amp;date=20261230"' in html


def test_a_bad_date_or_provider_falls_back_with_a_message(clinician):
    html = clinician.get("/schedule?prov=999&date=20261345").text
    assert "INVALID DATE" in html
    assert "UNKNOWN PROVIDER" in html
    assert 'data-prov="1" data-date="20261120"' in html


def test_the_billing_clerk_sees_the_book_without_the_booking_form(billing):
    html = billing.get("/schedule?prov=1&date=20261120").text
    assert 'data-can-book="0"' in html
    assert 'id="book-form"' not in html


def test_the_script_uses_the_contract_calls(outsider):
    script = outsider.get("/static/schedule.js").text
    for call in (
        "'/api/appointments?prov='",
        "'/api/appointments/' + encodeURIComponent(apptId)",
        "api('POST', '/api/appointments', body)",
        "api('PUT', '/api/appointments/' + selected, body)",
        "'/cancel'",
        "result.data.ERR",
    ):
        assert call in script, call
    assert ".innerHTML" not in script
