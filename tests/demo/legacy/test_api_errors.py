"""Every row of the contract's error table that is about the request itself (100, 103, 3xx)."""

from __future__ import annotations

import pytest

from tests.demo.legacy.conftest import SATURDAY

GOOD = {"PAT_ID": 17, "PROV_ID": 2, "APPT_DT": SATURDAY, "APPT_TM": "0930", "DUR_MIN": 30}


def without(name):
    return {k: v for k, v in GOOD.items() if k != name}


def err(status, code, text):
    return status, {"ERR": text, "CODE": code}


def check(response, expected):
    status, body = expected
    assert (response.status, response.json()) == (status, body)
    assert response.header("Content-Type") == "application/json"
    assert response.header("Cache-Control") == "no-store"


@pytest.mark.parametrize(
    "url",
    [
        "/api/nothing",
        "/api/appointments/abc",
        "/api/appointments/12abc",
        "/api/appointments/-1",
        "/api/appointments/1/uncancel",
        "/api/appointments/",
        "/api/patients/x",
        "/api",
    ],
)
def test_unknown_services_and_non_numeric_ids_are_100(clinician, outsider, url):
    check(clinician.get(url), err(404, 100, "NO SUCH SERVICE"))
    check(outsider.get(url), err(404, 100, "NO SUCH SERVICE"))


@pytest.mark.parametrize(
    ("method", "url", "allow"),
    [
        ("DELETE", "/api/appointments/1", "GET, PUT"),
        ("PATCH", "/api/appointments/1", "GET, PUT"),
        ("GET", "/api/appointments/1/cancel", "POST"),
        ("PUT", "/api/appointments", "GET, POST"),
        ("POST", "/api/patients", "GET"),
        ("DELETE", "/api/session", "GET"),
    ],
)
def test_a_known_service_with_the_wrong_method_is_405_103(clinician, method, url, allow):
    response = clinician.request(method, url, json={})
    check(response, err(405, 103, "METHOD NOT ALLOWED"))
    assert response.header("Allow") == allow


@pytest.mark.parametrize(
    "raw",
    [b"", b"not json", b"[1, 2]", b'"text"', b"null", b"42", b"\xff\xfe", b'{"PAT_ID": 1'],
)
def test_a_body_that_is_not_a_json_object_is_300(clinician, raw):
    check(
        clinician.request("POST", "/api/appointments", body=raw, content_type="application/json"),
        err(400, 300, "BAD REQUEST"),
    )
    check(
        clinician.request("PUT", "/api/appointments/1", body=raw, content_type="application/json"),
        err(400, 300, "BAD REQUEST"),
    )


@pytest.mark.parametrize("name", ["PAT_ID", "PROV_ID", "APPT_DT", "APPT_TM", "DUR_MIN"])
def test_each_missing_booking_field_is_301(clinician, name):
    check(
        clinician.post("/api/appointments", without(name)), err(400, 301, f"MISSING FIELD {name}")
    )
    check(
        clinician.post("/api/appointments", {**GOOD, name: None}),
        err(400, 301, f"MISSING FIELD {name}"),
    )


def test_the_first_missing_field_in_contract_order_is_reported(clinician):
    check(clinician.post("/api/appointments", {}), err(400, 301, "MISSING FIELD PAT_ID"))
    check(
        clinician.post("/api/appointments", {"APPT_TM": "0900"}),
        err(400, 301, "MISSING FIELD PAT_ID"),
    )


@pytest.mark.parametrize("name", ["APPT_DT", "APPT_TM"])
def test_rescheduling_needs_date_and_time(clinician, name):
    body = {"APPT_DT": SATURDAY, "APPT_TM": "1100"}
    del body[name]
    check(clinician.put("/api/appointments/1", body), err(400, 301, f"MISSING FIELD {name}"))


@pytest.mark.parametrize(
    "value", ["20261131", "2026-11-21", "2026112", "202611210", 20261121, "", "abcdefgh"]
)
def test_an_invalid_date_is_302(clinician, value):
    check(
        clinician.post("/api/appointments", {**GOOD, "APPT_DT": value}),
        err(400, 302, "INVALID DATE"),
    )
    check(
        clinician.put("/api/appointments/1", {"APPT_DT": value, "APPT_TM": "0900"}),
        err(400, 302, "INVALID DATE"),
    )


@pytest.mark.parametrize("value", ["2400", "0960", "930", "09:30", 930, "", "ab12"])
def test_an_invalid_time_is_303(clinician, value):
    check(
        clinician.post("/api/appointments", {**GOOD, "APPT_TM": value}),
        err(400, 303, "INVALID TIME"),
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PAT_ID", "17"),
        ("PAT_ID", 0),
        ("PAT_ID", -5),
        ("PAT_ID", 1.5),
        ("PAT_ID", True),
        ("PAT_ID", 2**31),
        ("PROV_ID", "2"),
        ("PROV_ID", [2]),
        ("DUR_MIN", 4),
        ("DUR_MIN", 241),
        ("DUR_MIN", "15"),
        ("DUR_MIN", 15.0),
        ("DUR_MIN", False),
        ("REASON_TXT", 5),
        ("REASON_TXT", "X" * 81),
    ],
)
def test_a_wrong_type_or_out_of_range_value_is_304(clinician, name, value):
    check(
        clinician.post("/api/appointments", {**GOOD, name: value}),
        err(400, 304, f"INVALID VALUE {name}"),
    )


def test_the_duration_limits_themselves_are_allowed(clinician):
    assert clinician.post("/api/appointments", {**GOOD, "DUR_MIN": 5}).status == 200
    assert (
        clinician.post("/api/appointments", {**GOOD, "APPT_TM": "1200", "DUR_MIN": 240}).status
        == 200
    )
    assert (
        clinician.post(
            "/api/appointments", {**GOOD, "APPT_TM": "1700", "REASON_TXT": "X" * 80}
        ).status
        == 200
    )


def test_rescheduling_checks_optional_fields_when_given(clinician):
    body = {"APPT_DT": SATURDAY, "APPT_TM": "0900"}
    check(
        clinician.put("/api/appointments/1", {**body, "DUR_MIN": 999}),
        err(400, 304, "INVALID VALUE DUR_MIN"),
    )
    check(
        clinician.put("/api/appointments/1", {**body, "PROV_ID": "1"}),
        err(400, 304, "INVALID VALUE PROV_ID"),
    )
    check(
        clinician.put("/api/appointments/1", {**body, "REASON_TXT": []}),
        err(400, 304, "INVALID VALUE REASON_TXT"),
    )


def test_booking_an_unknown_patient_or_provider_is_305(clinician):
    check(
        clinician.post("/api/appointments", {**GOOD, "PAT_ID": 999999}),
        err(400, 305, "UNKNOWN PATIENT"),
    )
    check(
        clinician.post("/api/appointments", {**GOOD, "PROV_ID": 999999}),
        err(400, 305, "UNKNOWN PROVIDER"),
    )
    check(
        clinician.post("/api/appointments", {**GOOD, "PAT_ID": 999999, "PROV_ID": 999999}),
        err(400, 305, "UNKNOWN PATIENT"),
    )


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", err(400, 301, "MISSING FIELD PROV")),
        ("date=20261120", err(400, 301, "MISSING FIELD PROV")),
        ("prov=&date=20261120", err(400, 301, "MISSING FIELD PROV")),
        ("prov=1", err(400, 301, "MISSING FIELD DATE")),
        ("prov=1&date=", err(400, 301, "MISSING FIELD DATE")),
        ("prov=1&date=20261132", err(400, 302, "INVALID DATE")),
        ("prov=1&date=2026-11-20", err(400, 302, "INVALID DATE")),
        ("prov=abc&date=20261120", err(400, 304, "INVALID VALUE PROV")),
        ("prov=0&date=20261120", err(400, 304, "INVALID VALUE PROV")),
        ("prov=99999999999999999999&date=20261120", err(400, 304, "INVALID VALUE PROV")),
    ],
)
def test_the_day_list_checks_its_query(clinician, query, expected):
    check(clinician.get(f"/api/appointments?{query}"), expected)


def test_an_oversized_body_is_a_bad_request(clinician):
    huge = b'{"REASON_TXT": "' + b"x" * 1_100_000 + b'"}'
    check(clinician.request("POST", "/api/appointments", body=huge), err(400, 300, "BAD REQUEST"))


def test_unknown_pages_are_an_html_404(clinician):
    response = clinician.get("/nowhere")
    assert response.status == 404
    assert "text/html" in (response.header("Content-Type") or "")
