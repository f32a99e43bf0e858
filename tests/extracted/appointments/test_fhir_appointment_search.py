"""GET /fhir/Appointment?...: a valid R4 searchset Bundle, paged, filtered, strict about params."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.operationoutcome import OperationOutcome

from extracted.appointments.models import AccessAudit
from tests.extracted.appointments.modern_data import IN_TIME_ORDER, seeded  # noqa: F401
from tests.extracted.identities import headers_for

pytestmark = [
    pytest.mark.django_db(databases=["default", "appointments"]),
    pytest.mark.usefixtures("seeded"),
]


def search(client, query="", persona="clinician", **kwargs):
    return client.get(f"/fhir/Appointment{query}", headers=headers_for(persona, **kwargs))


def bundle(response):
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/fhir+json"
    parsed = Bundle.model_validate_json(response.content)
    assert parsed.type == "searchset"
    return parsed


def ids(response):
    return [int(entry.resource.id) for entry in bundle(response).entry or []]


def links(parsed):
    return {link.relation: link.url for link in parsed.link}


def test_without_parameters_it_finds_everything_in_time_order(client):
    parsed = bundle(search(client))

    assert [int(e.resource.id) for e in parsed.entry] == IN_TIME_ORDER
    assert parsed.total == len(IN_TIME_ORDER)
    assert all(e.search.mode == "match" for e in parsed.entry)
    assert all(e.resource.get_resource_type() == "Appointment" for e in parsed.entry)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?patient=17", [1, 3]),
        ("?patient=Patient/17", [1, 3]),
        ("?practitioner=Practitioner/4", [5, 3]),
        ("?date=2026-11-21", [2, 1, 4]),
        ("?date=eq2026-11-21", [2, 1, 4]),
        ("?date=ge2026-11-21", [2, 1, 4, 3]),
        ("?date=gt2026-11-21", [3]),
        ("?date=le2026-11-21", [5, 2, 1, 4]),
        ("?date=lt2026-11-21", [5]),
        ("?date=ge2026-11-21&date=lt2026-11-22", [2, 1, 4]),
        ("?status=noshow,arrived", [2, 4]),
        ("?status=cancelled", [3]),
        ("?patient=18&practitioner=3&date=2026-11-21", [2]),
        ("?patient=99", []),
    ],
)
def test_search_parameters_filter_and_combine(client, query, expected):
    assert ids(search(client, query)) == expected


def test_empty_values_are_refused_naming_each_as_under_handling_strict(client):
    # FHIR R4 lets a server ignore empty parameters; an ignored one widens the search.
    response = search(client, "?patient=17&date=&status=")

    assert response.status_code == 400
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert [issue["expression"] for issue in outcome["issue"]] == [["date"], ["status"]]


def test_full_urls_and_links_are_absolute_and_use_the_configured_base(client, settings):
    settings.FICUS_FHIR_BASE_URL = "https://ehr.example.org/fhir/"

    parsed = bundle(search(client, "?patient=17"))

    assert [e.fullUrl for e in parsed.entry] == [
        "https://ehr.example.org/fhir/Appointment/1",
        "https://ehr.example.org/fhir/Appointment/3",
    ]
    assert links(parsed)["self"].startswith("https://ehr.example.org/fhir/Appointment?")


def test_pages_link_to_each_other_and_keep_the_search(client):
    first = bundle(search(client, "?date=ge2026-11-20&_count=2"))
    first_links = links(first)
    second = bundle(client.get(first_links["next"], headers=headers_for("clinician")))

    assert [int(e.resource.id) for e in first.entry] == IN_TIME_ORDER[:2]
    assert "previous" not in first_links
    assert parse_qs(urlsplit(first_links["next"]).query) == {
        "date": ["ge2026-11-20"],
        "_count": ["2"],
        "_offset": ["2"],
    }
    assert [int(e.resource.id) for e in second.entry] == IN_TIME_ORDER[2:4]
    assert first.total == second.total == len(IN_TIME_ORDER)
    assert parse_qs(urlsplit(links(second)["previous"]).query)["_offset"] == ["0"]


def test_the_last_page_has_no_next_link(client):
    assert "next" not in links(bundle(search(client, "?_count=2&_offset=4")))


def test_an_offset_past_the_end_is_an_empty_page_with_the_total(client):
    parsed = bundle(search(client, "?_offset=50"))

    assert parsed.entry is None
    assert parsed.total == len(IN_TIME_ORDER)


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("?pateint=17", "pateint"),
        ("?date=21-11-2026", "date"),
        ("?date=ne2026-11-21", "date"),
        ("?patient=Practitioner/3", "patient"),
        ("?practitioner=abc", "practitioner"),
        ("?status=fulfilled", "status"),
        ("?_count=0", "_count"),
        ("?_count=1000", "_count"),
        ("?_offset=-1", "_offset"),
        ("?_format=xml", "_format"),
    ],
)
def test_a_bad_or_unknown_parameter_is_an_invalid_outcome_naming_it(client, query, parameter):
    response = search(client, query)

    assert response.status_code == 400
    parsed = OperationOutcome.model_validate_json(response.content)
    assert [(i.code, i.expression) for i in parsed.issue] == [("invalid", [parameter])]


@pytest.mark.parametrize("persona", ["auditor", "operator"])
def test_roles_without_clinical_access_are_forbidden(client, persona):
    response = search(client, persona=persona)

    assert response.status_code == 403
    assert b"Bundle" not in response.content


def test_the_outsider_gets_a_login_outcome(client):
    response = client.get("/fhir/Appointment?patient=17")

    assert response.status_code == 401
    assert json.loads(response.content)["issue"][0]["code"] == "login"


def test_each_returned_appointment_is_audited_as_a_search(client):
    search(client, "?patient=17", persona="scheduler", request_id="rid-fhir-search")

    rows = AccessAudit.objects.order_by("id")
    assert [(r.login, r.action, r.record_id, r.request_id) for r in rows] == [
        ("scheduler", "search", "1", "rid-fhir-search"),
        ("scheduler", "search", "3", "rid-fhir-search"),
    ]
