"""GET /v2/appointments: filters (hospital days), time order, paging, named 400s, roles, audit."""

from __future__ import annotations

import json

import pytest

from extracted.appointments.models import AccessAudit
from tests.extracted.appointments.modern_data import IN_TIME_ORDER, SEED, seeded  # noqa: F401
from tests.extracted.identities import headers_for

pytestmark = [
    pytest.mark.django_db(databases=["default", "appointments"]),
    pytest.mark.usefixtures("seeded"),
]


def get(client, query="", persona="clinician", **kwargs):
    return client.get(f"/v2/appointments{query}", headers=headers_for(persona, **kwargs))


def ids(response):
    assert response.status_code == 200, response.content
    return [item["id"] for item in json.loads(response.content)["results"]]


def test_it_lists_every_appointment_in_time_order(client):
    assert ids(get(client)) == IN_TIME_ORDER


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?provider=3", [2, 1, 4]),
        ("?patient=17", [1, 3]),
        ("?status=booked", [5, 1]),
        ("?status=no_show", [4]),
        # 23:30 in Chicago on the 21st is the 22nd in UTC; it belongs to the hospital's 21st.
        ("?date=2026-11-21", [2, 1, 4]),
        ("?date_from=2026-11-21", [2, 1, 4, 3]),
        ("?date_to=2026-11-21", [5, 2, 1, 4]),
        ("?date_from=2026-11-21&date_to=2026-11-22", [2, 1, 4, 3]),
        ("?provider=3&date=2026-11-21&status=arrived", [2]),
        ("?provider=99", []),
    ],
)
def test_filters_narrow_the_list_and_combine(client, query, expected):
    assert ids(get(client, query)) == expected


def test_an_item_has_clean_names_and_hospital_times(client):
    item = json.loads(get(client, "?patient=19").content)["results"][0]

    assert item == {
        "id": 4,
        "patient_id": 19,
        "patient_display_name": "POE, ANNA",
        "provider_id": 3,
        "starts_at": "2026-11-21T23:30:00-06:00",
        "ends_at": "2026-11-21T23:45:00-06:00",
        "duration_minutes": 15,
        "status": "no_show",
        "reason": "LATE VISIT",
        "updated_at": "2026-11-20T02:30:00-06:00",
    }


def test_pages_carry_the_total_and_relative_links_with_the_filters(client):
    first = json.loads(get(client, "?provider=3&page_size=2").content)
    second = json.loads(client.get(first["next"], headers=headers_for("clinician")).content)

    assert first["count"] == second["count"] == 3
    assert [i["id"] for i in first["results"]] == [2, 1]
    assert first["next"] == "/v2/appointments?page=2&page_size=2&provider=3"
    assert [i["id"] for i in second["results"]] == [4]
    assert second["next"] is None
    assert second["previous"] == "/v2/appointments?page_size=2&provider=3"


@pytest.mark.parametrize(
    ("query", "fields"),
    [
        ("?date=21-11-2026", ["date"]),
        ("?date=2026-02-30", ["date"]),
        ("?provider=three", ["provider"]),
        ("?patient=0", ["patient"]),
        ("?patient=99999999999", ["patient"]),
        ("?status=done", ["status"]),
        ("?date_from=2026-11-22&date_to=2026-11-21", ["date_to"]),
        ("?date=2026-11-21&date_from=2026-11-20", ["date"]),
        ("?pateint=17", ["pateint"]),
        ("?date=bad&prov=3", ["date", "prov"]),
        ("?page=9", ["page"]),
        ("?page_size=500", ["page_size"]),
    ],
)
def test_a_bad_query_is_a_400_that_names_each_field(client, query, fields):
    response = get(client, query)

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert [e["field"] for e in json.loads(response.content)["errors"]] == fields


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("?page=9", "no_such_page"),
        ("?date=2026-11-21&date_from=2026-11-20", "conflicting_parameters"),
        ("?date_from=2026-11-22&date_to=2026-11-21", "inverted_range"),
        ("?date=2026-02-30", "invalid"),
    ],
)
def test_a_refusal_that_depends_on_the_data_says_so_by_its_code(client, query, code):
    # A client (and the schema fuzzer) tells "well-formed, but not with this data" from
    # "malformed" by the code, never by parsing the message.
    [error] = json.loads(get(client, query).content)["errors"]

    assert error["code"] == code


@pytest.mark.parametrize("persona", ["clinician", "scheduler", "billing", "admin"])
def test_every_clinical_role_may_search(client, persona):
    assert ids(get(client, persona=persona)) == IN_TIME_ORDER


@pytest.mark.parametrize("persona", ["auditor", "operator"])
def test_the_auditor_and_the_operator_are_forbidden(client, persona):
    response = get(client, persona=persona)

    assert response.status_code == 403
    assert "results" not in json.loads(response.content)


def test_the_outsider_is_not_authenticated(client):
    response = client.get("/v2/appointments")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Ficus-Identity"
    assert b"DOE" not in response.content


def test_each_listed_appointment_is_audited_with_the_request_id(client):
    get(client, "?provider=3&page_size=2", persona="billing", request_id="rid-v2-list")

    rows = AccessAudit.objects.order_by("id")
    assert [
        (r.login, r.role, r.action, r.record_type, r.record_id, r.request_id) for r in rows
    ] == [
        ("billing", "BILL", "search", "appointment", "2", "rid-v2-list"),
        ("billing", "BILL", "search", "appointment", "1", "rid-v2-list"),
    ]


def test_a_search_that_finds_nothing_is_audited_once_without_a_record(client):
    get(client, "?provider=99")

    assert [(r.action, r.record_id) for r in AccessAudit.objects.all()] == [("search", "")]


def test_a_refused_search_leaves_no_audit_row(client):
    get(client, persona="auditor")
    client.get("/v2/appointments")

    assert not AccessAudit.objects.exists()


def test_the_seed_is_what_the_filters_assume():
    # Guards the expectations above against an edit of the seed.
    assert {key for key, row in SEED.items() if row[2] == 3} == {1, 2, 4}
