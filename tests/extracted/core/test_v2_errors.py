"""/v2 errors are RFC 9457 problem documents; validation errors name every field at fault."""

from __future__ import annotations

import json

import pytest
from rest_framework.exceptions import ErrorDetail

from extracted.core.v2 import field_errors
from tests.extracted.identities import KEY, ProxiedClient, headers_for

pytestmark = [pytest.mark.urls("tests.extracted.core.v2_views")]


@pytest.fixture(autouse=True)
def identity_key(settings):
    settings.FICUS_IDENTITY_KEY = KEY


def post(client, body):
    return client.post(
        "/v2/numbers",
        json.dumps(body),
        content_type="application/json",
        headers=headers_for("admin"),
    )


def test_it_names_each_invalid_field(client):
    response = post(client, {"date": "21/11/2026"})

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    body = json.loads(response.content)
    assert body["type"] == "about:blank"
    assert body["title"] == "Bad Request"
    assert [(e["field"], e["code"]) for e in body["errors"]] == [
        ("date", "invalid"),
        ("slots", "required"),
    ]
    assert "YYYY-MM-DD" in body["errors"][0]["message"]


def test_a_nested_field_is_named_by_its_dotted_path(client):
    response = post(client, {"date": "2026-11-21", "slots": [{"minutes": 15}, {"minutes": 3}]})

    errors = json.loads(response.content)["errors"]
    assert [(e["field"], e["code"]) for e in errors] == [("slots.1.minutes", "min_value")]


def test_an_error_about_the_whole_request_has_no_field(client):
    body = {"date": "2026-11-21", "slots": [{"minutes": 15}] * 3}

    errors = json.loads(post(client, body).content)["errors"]

    assert errors == [
        {"field": None, "message": "At most two slots per booking.", "code": "invalid"}
    ]


def test_a_body_that_is_not_json_is_a_problem_too(client):
    response = client.post(
        "/v2/numbers", "{not json", content_type="application/json", headers=headers_for("admin")
    )

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert "JSON parse error" in json.loads(response.content)["detail"]


def test_an_unexpected_failure_says_nothing_about_itself(settings):
    client = ProxiedClient(raise_request_exception=False)
    response = client.get("/v2/boom", headers=headers_for("clinician"))

    assert response.status_code == 500
    assert b"secret detail" not in response.content


def test_field_errors_flattens_lists_of_objects_and_keeps_codes():
    detail = {
        "a": [ErrorDetail("bad a", code="invalid")],
        "b": [{}, {"c": [ErrorDetail("bad c", code="max_value")]}],
        "non_field_errors": [ErrorDetail("bad whole", code="conflict")],
    }

    assert field_errors(detail) == [
        {"field": "a", "message": "bad a", "code": "invalid"},
        {"field": "b.1.c", "message": "bad c", "code": "max_value"},
        {"field": None, "message": "bad whole", "code": "conflict"},
    ]
