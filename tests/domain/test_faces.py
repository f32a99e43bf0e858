"""Modern faces in the routing core: prefixes that always go to their service, any method."""

from __future__ import annotations

import pytest

from domain.faces import CONTROL_UPSTREAM, control_routes, face_route
from domain.phases import Phase
from domain.routes import Reason, RequestInfo, Route
from domain.routing import RouteTable, decide, should_fall_back

PATIENT_READ = Route("patients", "GET", "/api/patients/{id:int}", "patients", Phase.LEGACY)
TABLE = RouteTable.build(
    [
        PATIENT_READ,
        face_route("patients", "/v2/patients", "patients"),
        face_route("patients", "/fhir/Patient", "patients"),
        face_route("audit", "/v2/patients/access-audit", "audit"),
        *control_routes(),
    ]
)


@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize(
    "path", ["/v2/patients", "/v2/patients/", "/v2/patients/7", "/fhir/Patient/7/_history"]
)
def test_every_method_under_a_face_goes_to_its_service(method, path):
    decision = decide(RequestInfo(method, path), TABLE)
    assert (decision.upstream, decision.reason) == ("patients", Reason.FACE)
    assert decision.template.endswith("/**")  # stats and logs carry the template, not the path


def test_the_faces_ignore_the_legacy_routes_phase():
    # The feature's legacy route is still `legacy`, and its face goes to the service anyway.
    assert decide(RequestInfo("GET", "/api/patients/7"), TABLE).upstream == "legacy"
    assert decide(RequestInfo("GET", "/v2/patients/7"), TABLE).upstream == "patients"


def test_the_longest_prefix_wins():
    decision = decide(RequestInfo("GET", "/v2/patients/access-audit"), TABLE)
    assert (decision.upstream, decision.template) == ("audit", "/v2/patients/access-audit/**")


@pytest.mark.parametrize("path", ["/v2/patientsx", "/v2", "/fhir/Practitioner/1", "/fhir"])
def test_a_path_beside_every_face_goes_to_legacy(path):
    assert decide(RequestInfo("GET", path), TABLE).upstream == "legacy"


def test_a_face_is_never_pinned_to_legacy_nor_falls_back_to_it():
    pinned = decide(RequestInfo("GET", "/v2/patients/7", frozenset({"patients"})), TABLE)
    assert pinned.upstream == "patients"
    assert not should_fall_back(pinned, 404)
    assert not should_fall_back(pinned, 503)
    assert not pinned.shadowed


def test_the_control_face_goes_to_the_control_plane():
    decision = decide(RequestInfo("POST", "/control/v1/features/patients/advance"), TABLE)
    assert (decision.upstream, decision.feature) == (CONTROL_UPSTREAM, "control")
    token = decide(RequestInfo("POST", "/oauth2/token"), TABLE)
    assert (token.upstream, token.template) == (CONTROL_UPSTREAM, "/oauth2/**")


def test_one_prefix_has_one_service():
    with pytest.raises(ValueError, match="same face"):
        RouteTable.build(
            [face_route("a", "/v2/x", "a"), face_route("b", "/v2/x", "b")],
        )
