"""Who may do what: OPER and AUDIT see no PHI, outsiders see nothing, pages bounce to /login."""

from __future__ import annotations

import pytest

from tests.demo.legacy.client import Client
from tests.demo.legacy.conftest import SATURDAY

PHI_READS = [
    "/api/appointments?prov=1&date=20261120",
    "/api/appointments/1",
    "/api/patients?q=ko",
    "/api/patients/1",
]
WRITES = [
    ("POST", "/api/appointments"),
    ("PUT", "/api/appointments/1"),
    ("POST", "/api/appointments/1/cancel"),
]
PAGES = ["/", "/patients", "/patients?q=ko", "/patients/1", "/schedule", "/billing"]
BOOKING = {"PAT_ID": 1, "PROV_ID": 1, "APPT_DT": SATURDAY, "APPT_TM": "0900", "DUR_MIN": 15}

DENIED = {"ERR": "ACCESS DENIED", "CODE": 102}
NOT_LOGGED_IN = {"ERR": "NOT LOGGED IN", "CODE": 101}


@pytest.mark.parametrize("persona", ["operator", "auditor"])
@pytest.mark.parametrize("url", PHI_READS)
def test_operator_and_auditor_may_not_read_phi(request, persona, url):
    client: Client = request.getfixturevalue(persona)
    response = client.get(url)
    assert response.status == 403
    assert response.json() == DENIED
    assert response.header("Content-Type") == "application/json"


@pytest.mark.parametrize("persona", ["operator", "auditor", "billing"])
@pytest.mark.parametrize(("method", "url"), WRITES)
def test_only_clinical_staff_may_book_reschedule_or_cancel(request, persona, method, url):
    client: Client = request.getfixturevalue(persona)
    response = client.request(method, url, json=BOOKING)
    assert response.status == 403
    assert response.json() == DENIED


@pytest.mark.parametrize("url", [*PHI_READS, "/api/session"])
def test_the_outsider_gets_401_from_the_api(outsider, url):
    response = outsider.get(url)
    assert response.status == 401
    assert response.json() == NOT_LOGGED_IN
    assert response.header("Cache-Control") == "no-store"


@pytest.mark.parametrize(("method", "url"), WRITES)
def test_the_outsider_cannot_write(outsider, engine, method, url):
    response = outsider.request(method, url, json=BOOKING)
    assert response.status == 401
    assert response.json() == NOT_LOGGED_IN


@pytest.mark.parametrize("url", PAGES)
def test_pages_send_the_outsider_to_the_login_form(outsider, url):
    response = outsider.get(url)
    assert response.status == 302
    assert response.header("Location") == "/login"
    assert response.body == b""


@pytest.mark.parametrize("persona", ["operator", "auditor"])
@pytest.mark.parametrize("url", ["/patients", "/patients/1", "/schedule", "/billing"])
def test_operator_and_auditor_get_an_access_denied_page(request, persona, url):
    client: Client = request.getfixturevalue(persona)
    response = client.get(url)
    assert response.status == 403
    assert "ACCESS DENIED" in response.text
    assert "text/html" in (response.header("Content-Type") or "")


@pytest.mark.parametrize("persona", ["operator", "auditor"])
def test_operator_and_auditor_may_log_in_and_ask_who_they_are(request, persona):
    client: Client = request.getfixturevalue(persona)
    assert (
        client.get("/api/session").json()["ROLE_CD"]
        == {"operator": "OPER", "auditor": "AUDIT"}[persona]
    )
    home = client.get("/")
    assert home.status == 200
    assert "no access to clinical or billing functions" in home.text
    assert 'href="/patients"' not in home.text


@pytest.mark.parametrize("persona", ["clinician", "scheduler", "billing", "admin"])
def test_clinical_roles_may_read_phi(request, persona):
    client: Client = request.getfixturevalue(persona)
    for url in PHI_READS:
        assert client.get(url).status == 200, url


def test_the_billing_report_is_for_billing_and_admin_only(clinician, scheduler, billing, admin):
    assert clinician.get("/billing").status == 403
    assert scheduler.get("/billing").status == 403
    assert billing.get("/billing").status == 200
    assert admin.get("/billing").status == 200


def test_static_files_need_no_session(outsider):
    response = outsider.get("/static/schedule.js")
    assert response.status == 200
    assert "javascript" in (response.header("Content-Type") or "")
    assert b"/api/appointments" in response.body
    assert outsider.get("/static/../app.py").status == 404
    assert outsider.get("/static/nope.js").status == 404
