"""The proxy's credentials for schemathesis runs against the services (tests.support.openapi_fuzz).

Each generated request carries what the proxy would add: an `X-Ficus-Identity` signed for the
exact method, path and query that go on the wire (`binding_for_target`, as proxy/identity.py
binds it) and the matching `X-Ficus-Request-Id`. The signing is a requests auth hook, so it
sees the prepared request, percent-encoding and all, after schemathesis built it: signing the
case's own path and query would bind a different spelling than the one sent.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import requests
import schemathesis

from tests.extracted.identities import headers_for

_ids = itertools.count(1)

# Refusals of schema-valid requests that no OpenAPI schema can rule out, because they depend on
# the data (which ids exist, how many pages there are) or on two parameters together: a 400
# for a positive case is excused only if every field its problem names is listed here.
STATEFUL_REFUSALS: dict[str, frozenset[str]] = {
    "GET /v2/appointments": frozenset({"page", "date", "date_to"}),
    "POST /v2/appointments": frozenset({"patient_id", "provider_id"}),
    "PATCH /v2/appointments/{appointment_id}": frozenset({"provider_id"}),
    "GET /v2/patients": frozenset({"page"}),
    "GET /v2/patients/access-audit": frozenset({"page"}),
}


def stateful_refusal(response: schemathesis.Response, case: schemathesis.Case[Any]) -> bool:
    excused = STATEFUL_REFUSALS.get(case.operation.label, frozenset())
    errors = response.json().get("errors") or [{"field": None}]
    return all(error.get("field") in excused for error in errors)


class SignedIdentity(requests.auth.AuthBase):
    """Signs the persona's identity for the request exactly as it is sent (the proxy's job)."""

    def __init__(self, persona_for: Callable[[str], str]) -> None:
        self.persona_for = persona_for

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        target = request.path_url  # path?query, as encoded on the wire
        persona = self.persona_for(target.partition("?")[0])
        rid = f"rid-schemathesis-{next(_ids)}"
        request.headers.update(
            headers_for(persona, method=str(request.method), target=target, request_id=rid)
        )
        return request
