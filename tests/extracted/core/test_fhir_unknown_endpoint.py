"""A /fhir path no service serves answers a FHIR OperationOutcome 404, not a plain-text page."""

from __future__ import annotations

import pytest
from fhir.resources.R4B.operationoutcome import OperationOutcome

from tests.extracted.identities import KEY, headers_for


@pytest.mark.parametrize("path", ["/fhir/Observation", "/fhir/Observation/1", "/fhir/metadata"])
def test_an_unserved_fhir_path_is_a_not_supported_outcome(client, settings, path):
    settings.FICUS_IDENTITY_KEY = KEY

    response = client.get(path, headers=headers_for("clinician"))

    assert response.status_code == 404
    assert response["Content-Type"] == "application/fhir+json"
    outcome = OperationOutcome.model_validate_json(response.content)
    assert [issue.code for issue in outcome.issue] == ["not-supported"]


@pytest.mark.django_db(databases=["default", "appointments"])
def test_served_resources_are_not_swallowed_by_it(client, settings):
    settings.FICUS_IDENTITY_KEY = KEY

    response = client.get("/fhir/Appointment/1", headers=headers_for("clinician"))

    assert b"not-supported" not in response.content
    assert b"not-found" in response.content
