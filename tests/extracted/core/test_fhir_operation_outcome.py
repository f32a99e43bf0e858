"""Every /fhir error is a valid R4 OperationOutcome with the right IssueType and HTTP status."""

from __future__ import annotations

import json

import pytest
from django.http import Http404
from fhir.resources.R4B.operationoutcome import OperationOutcome
from rest_framework import exceptions

from extracted.core.fhir import Issue, fhir_exception_handler, operation_outcome


def handled(exc):
    response = fhir_exception_handler(exc, {})
    assert response is not None
    return response


@pytest.mark.parametrize(
    ("exc", "status", "code"),
    [
        (exceptions.NotFound("Appointment/9 is not known."), 404, "not-found"),
        (Http404(), 404, "not-found"),
        (exceptions.NotAuthenticated(), 401, "login"),
        (exceptions.AuthenticationFailed("Invalid identity: expired."), 401, "login"),
        (exceptions.PermissionDenied(), 403, "forbidden"),
        (exceptions.MethodNotAllowed("POST"), 405, "not-supported"),
        (exceptions.ValidationError({"date": ["bad"]}), 400, "invalid"),
    ],
)
def test_it_maps_each_failure_to_an_outcome_and_a_status(exc, status, code):
    response = handled(exc)

    assert response.status_code == status
    outcome = OperationOutcome.model_validate(response.data)
    assert [issue.code for issue in outcome.issue] == [code]
    assert outcome.issue[0].severity == "error"


def test_a_validation_error_names_each_parameter_in_expression():
    exc = exceptions.ValidationError({"date": ["bad date"], "_count": ["too big"]})

    outcome = OperationOutcome.model_validate(handled(exc).data)

    assert [(i.expression, i.diagnostics) for i in outcome.issue] == [
        (["date"], "date: bad date"),
        (["_count"], "_count: too big"),
    ]


def test_an_unexpected_failure_is_left_to_the_generic_500():
    assert fhir_exception_handler(RuntimeError("detail"), {}) is None


def test_the_outcome_serializes_as_r4_json():
    outcome = operation_outcome([Issue("warning", "informational", "note", ("x",))])

    parsed = OperationOutcome.model_validate_json(json.dumps(outcome))
    assert parsed.issue[0].expression == ["x"]
