"""The proxy's credentials for schemathesis runs against the services (tests.support.openapi_fuzz).

Each generated request carries what the proxy would add: an `X-Ficus-Identity` signed for the
exact method, path and query that go on the wire (`binding_for_target`, as domain/identity.py
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

from extracted.core.v2_errors import (
    CONFLICTING_PARAMETERS,
    DOES_NOT_EXIST,
    INVERTED_RANGE,
    NO_SUCH_PAGE,
)
from tests.extracted.identities import headers_for

_ids = itertools.count(1)

# Refusals of schema-valid requests that no OpenAPI schema can rule out, because they depend on
# the data (which ids exist, how many pages there are) or on two parameters together. Each is
# named by operation, field and the problem's `code` (extracted/core/v2_errors.py), so only that
# refusal is excused: a 400 for a positive case passes only if every error it names is listed.
STATEFUL_REFUSALS: dict[str, frozenset[tuple[str, str]]] = {
    "GET /v2/appointments": frozenset(
        {
            ("page", NO_SUCH_PAGE),
            ("date", CONFLICTING_PARAMETERS),
            ("date_to", INVERTED_RANGE),
        }
    ),
    "POST /v2/appointments": frozenset(
        {("patient_id", DOES_NOT_EXIST), ("provider_id", DOES_NOT_EXIST)}
    ),
    "PATCH /v2/appointments/{appointment_id}": frozenset({("provider_id", DOES_NOT_EXIST)}),
    "GET /v2/patients": frozenset({("page", NO_SUCH_PAGE)}),
    "GET /v2/patients/access-audit": frozenset({("page", NO_SUCH_PAGE)}),
}


def stateful_refusal(response: schemathesis.Response, case: schemathesis.Case[Any]) -> bool:
    excused = STATEFUL_REFUSALS.get(case.operation.label, frozenset())
    errors = response.json().get("errors") or [{"field": None, "code": None}]
    return all((error.get("field"), error.get("code")) in excused for error in errors)


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
