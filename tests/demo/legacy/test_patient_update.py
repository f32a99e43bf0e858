"""PUT /api/patients/{id}: the legacy app's demographics update, its checks and its role rule."""

from __future__ import annotations

import pytest

from tests.demo.legacy.conftest import NOW, query_one

CHANGE = {"PHONE": "(312) 555-0142", "ADDR1": "12 elm st", "CITY": "Oakton", "ST": "il",
          "ZIP": "60601"}  # fmt: skip


def stored(engine, pat_id=3):
    return query_one(
        engine,
        "SELECT LAST_NM, FIRST_NM, PHONE, ADDR1, CITY, ST, ZIP, UPD_TS, SSN, DOB FROM"
        " PATIENT_MASTER WHERE PAT_ID = :id",
        {"id": pat_id},
    )


def test_it_updates_the_contact_details_and_stamps_upd_ts(clinician, engine):
    before = stored(engine)

    response = clinician.put("/api/patients/3", json=CHANGE)

    assert (response.status, response.body) == (200, b'{"RESULT": "OK", "PAT_ID": 3}')
    assert response.header("Content-Type") == "application/json"
    after = stored(engine)
    assert (after["PHONE"], after["ADDR1"], after["CITY"], after["ST"], after["ZIP"]) == (
        "(312) 555-0142", "12 ELM ST", "OAKTON", "IL", "60601",
    )  # fmt: skip
    assert after["UPD_TS"] == NOW.strftime("%Y%m%d%H%M%S") != before["UPD_TS"]
    assert (after["SSN"], after["DOB"], after["LAST_NM"]) == (
        before["SSN"], before["DOB"], before["LAST_NM"],
    )  # fmt: skip


def test_it_changes_name_parts_when_given_and_clears_the_phone(scheduler, engine):
    change = {**CHANGE, "PHONE": "", "LAST_NM": " smith-jones ", "FIRST_NM": "Ana"}

    assert scheduler.put("/api/patients/3", json=change).status == 200

    after = stored(engine)
    assert (after["LAST_NM"], after["FIRST_NM"], after["PHONE"]) == ("SMITH-JONES", "ANA", None)
    assert scheduler.get("/api/patients?q=smith-jones,an").json()["COUNT"] >= 1


@pytest.mark.parametrize(
    ("change", "body"),
    [
        ({"PHONE": None}, b'{"ERR": "MISSING FIELD PHONE", "CODE": 301}'),
        ({"ZIP": ...}, b'{"ERR": "MISSING FIELD ZIP", "CODE": 301}'),
        ({"PHONE": "312-555-0142"}, b'{"ERR": "INVALID VALUE PHONE", "CODE": 304}'),
        ({"PHONE": 3125550142}, b'{"ERR": "INVALID VALUE PHONE", "CODE": 304}'),
        ({"ADDR1": "   "}, b'{"ERR": "INVALID VALUE ADDR1", "CODE": 304}'),
        ({"CITY": "X" * 31}, b'{"ERR": "INVALID VALUE CITY", "CODE": 304}'),
        ({"ST": "ILL"}, b'{"ERR": "INVALID VALUE ST", "CODE": 304}'),
        ({"ZIP": "6060"}, b'{"ERR": "INVALID VALUE ZIP", "CODE": 304}'),
        ({"ZIP": 60601}, b'{"ERR": "INVALID VALUE ZIP", "CODE": 304}'),
        ({"LAST_NM": "DOE, JR"}, b'{"ERR": "INVALID VALUE LAST_NM", "CODE": 304}'),
        ({"FIRST_NM": ""}, b'{"ERR": "INVALID VALUE FIRST_NM", "CODE": 304}'),
        # The first failing field in the documented order wins.
        ({"PHONE": "bad", "ZIP": None}, b'{"ERR": "INVALID VALUE PHONE", "CODE": 304}'),
    ],
    ids=lambda v: str(v)[:30],
)
def test_it_refuses_bad_fields_and_changes_nothing(clinician, engine, change, body):
    before = stored(engine)
    payload = {k: v for k, v in {**CHANGE, **change}.items() if v is not ...}

    response = clinician.put("/api/patients/3", json=payload)

    assert (response.status, response.body) == (400, body)
    assert stored(engine) == before


def test_it_refuses_a_body_that_is_not_a_json_object(clinician):
    response = clinician.request("PUT", "/api/patients/3", body=b"[1]", content_type="text/plain")

    assert (response.status, response.body) == (400, b'{"ERR": "BAD REQUEST", "CODE": 300}')


def test_an_unknown_patient_is_202_before_the_body_is_read(clinician):
    response = clinician.request("PUT", "/api/patients/999999", body=b"junk")

    assert (response.status, response.body) == (404, b'{"ERR": "PATIENT NOT FOUND", "CODE": 202}')


@pytest.mark.parametrize("persona", ["billing", "auditor", "operator"])
def test_billing_auditor_and_operator_may_not_update(request, engine, persona):
    before = stored(engine)
    response = request.getfixturevalue(persona).put("/api/patients/3", json=CHANGE)

    assert (response.status, response.body) == (403, b'{"ERR": "ACCESS DENIED", "CODE": 102}')
    assert stored(engine) == before


def test_the_outsider_gets_401(outsider):
    response = outsider.put("/api/patients/3", json=CHANGE)

    assert (response.status, response.body) == (401, b'{"ERR": "NOT LOGGED IN", "CODE": 101}')


def test_other_methods_are_405_listing_get_and_put(clinician):
    response = clinician.request("DELETE", "/api/patients/3")

    assert response.status == 405
    assert response.header("Allow") == "GET, PUT"
