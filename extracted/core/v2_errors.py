"""/v2 errors as RFC 9457 (ex-7807) problem documents, and the pieces /fhir reuses.

`problem_exception_handler` is the DRF exception handler of every /v2 view: an
`application/problem+json` body `{"type", "title", "status", "detail"}`, plus, for validation
errors, `errors: [{"field", "message", "code"}]` naming every field at fault (`field` is a
dotted path for nested fields and null for errors about the request as a whole). Unexpected
exceptions are not handled here: they reach Django's handler500, whose body says nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from http import HTTPStatus
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpResponse
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.settings import api_settings

from extracted.core.legacy_constraints import LegacyCannotHoldError
from extracted.core.write_guard import NotOwnerError, WriteRefusedError

__all__ = [
    "CONFLICTING_PARAMETERS",
    "DOES_NOT_EXIST",
    "INVERTED_RANGE",
    "NO_SUCH_PAGE",
    "PROBLEM_MEDIA_TYPE",
    "PROBLEM_SCHEMA",
    "PayloadTooLarge",
    "as_api_exception",
    "exception_headers",
    "field_errors",
    "problem_body",
    "problem_exception_handler",
    "problem_response",
    "problem_responses",
]

PROBLEM_MEDIA_TYPE = "application/problem+json"

# The `code`s of refusals a well-formed request can still get, because they depend on the data
# or on two parameters together (no schema can rule them out): a client tells them from a
# malformed request by the code, not by parsing the message.
DOES_NOT_EXIST = "does_not_exist"  # an id no record has (DRF's own code for this)
NO_SUCH_PAGE = "no_such_page"  # a page past the last one
CONFLICTING_PARAMETERS = "conflicting_parameters"  # two parameters that exclude each other
INVERTED_RANGE = "inverted_range"  # a range whose end comes before its start


def _flatten(detail: Any, prefix: str | None) -> Iterator[dict[str, Any]]:
    if isinstance(detail, Mapping):
        for name, value in detail.items():
            field = None if name == api_settings.NON_FIELD_ERRORS_KEY else str(name)
            yield from _flatten(value, field if prefix is None else f"{prefix}.{field}")
    elif isinstance(detail, list):
        for index, value in enumerate(detail):
            if isinstance(value, Mapping | list):
                # A list of nested objects: the index is part of the field's path.
                yield from _flatten(value, f"{prefix}.{index}" if prefix else str(index))
            else:
                yield from _flatten(value, prefix)
    else:
        yield {"field": prefix, "message": str(detail), "code": getattr(detail, "code", "invalid")}


def field_errors(detail: Any) -> list[dict[str, Any]]:
    """A ValidationError's detail as `[{"field", "message", "code"}]`, in declaration order."""
    return list(_flatten(detail, None))


def as_api_exception(exc: Exception) -> exceptions.APIException | None:
    """Django's own 404/403 and a value legacy cannot hold as DRF exceptions; None for anything
    unexpected (→ handler500)."""
    if isinstance(exc, Http404):
        return exceptions.NotFound()
    if isinstance(exc, DjangoPermissionDenied):
        return exceptions.PermissionDenied()
    if isinstance(exc, LegacyCannotHoldError):
        # Legacy's schema still holds the record of truth: what it cannot hold is refused.
        message = f"The legacy record cannot hold this value: it {exc.problem}."
        return exceptions.ValidationError({exc.field: [message]})
    return exc if isinstance(exc, exceptions.APIException) else None


class PayloadTooLarge(exceptions.APIException):
    """A body over the services' limit (DATA_UPLOAD_MAX_MEMORY_SIZE): 413, the honest status."""

    status_code = 413
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


def problem_body(status: int, detail: str) -> dict[str, Any]:
    """The RFC 9457 document of a problem with no field errors."""
    return {"type": "about:blank", "title": HTTPStatus(status).phrase, "status": status,
            "detail": detail}  # fmt: skip


def problem_response(status: int, detail: str) -> HttpResponse:
    """A problem answered outside DRF (Django's 400/404/500 handlers), as a DRF view would."""
    response = HttpResponse(
        json.dumps(problem_body(status, detail)), status=status, content_type=PROBLEM_MEDIA_TYPE
    )
    response["Cache-Control"] = "no-store"
    return response


def exception_headers(exc: exceptions.APIException) -> dict[str, str]:
    """The headers DRF's default handler would add: WWW-Authenticate and Retry-After."""
    headers: dict[str, str] = {}
    if auth_header := getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = str(auth_header)
    if wait := getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(wait))
    return headers


def _refused_write(exc: WriteRefusedError) -> Response:
    """A write the service may not make now (extracted.core.write_guard), as a 409 problem that
    names the owner, or says sync is on its way and when to try again."""
    body: dict[str, Any] = {"title": HTTPStatus.CONFLICT.phrase, "status": 409}
    headers: dict[str, str] = {}
    if isinstance(exc, NotOwnerError):
        body["type"] = "urn:ficus:problem:record-not-owned"
        body["detail"] = (
            f"This record is owned by {exc.owner.value}: send the write there "
            "(through the Ficus proxy, which routes each record to its owner)."
        )
        body["owner"] = exc.owner.value
    else:
        body["type"] = "urn:ficus:problem:sync-in-flight"
        body["detail"] = "Changes of this record are still being synchronized; try again."
        headers["Retry-After"] = "1"
    return Response(body, status=409, headers=headers, content_type=PROBLEM_MEDIA_TYPE)


def problem_exception_handler(exc: Exception, context: Mapping[str, Any]) -> Response | None:
    """DRF's EXCEPTION_HANDLER for /v2: an RFC 9457 problem document."""
    if isinstance(exc, WriteRefusedError):
        return _refused_write(exc)
    api_exc = as_api_exception(exc)
    if api_exc is None:
        return None
    status = api_exc.status_code
    if isinstance(api_exc, exceptions.ValidationError):
        body = problem_body(status, "The request has invalid fields; see errors.")
        body["errors"] = field_errors(api_exc.detail)
    else:
        body = problem_body(status, str(api_exc.detail))
    return Response(
        body, status=status, headers=exception_headers(api_exc), content_type=PROBLEM_MEDIA_TYPE
    )


# Schema only: the RFC 9457 problem document every /v2 error is. (Built inline because a
# serializer field named `errors` would shadow Serializer.errors for type checkers.)
PROBLEM_SCHEMA = inline_serializer(
    "Problem",
    fields={
        "type": serializers.CharField(default="about:blank"),
        "title": serializers.CharField(),
        "status": serializers.IntegerField(),
        "detail": serializers.CharField(),
        "errors": inline_serializer(
            "FieldError",
            fields={
                "field": serializers.CharField(
                    allow_null=True, help_text="Dotted path; null: the request as a whole."
                ),
                "message": serializers.CharField(),
                "code": serializers.CharField(),
            },
            many=True,
            required=False,
        ),
    },
)

_PROBLEM_WHEN = {
    400: "Invalid query or body; `errors` names each field.",
    401: "No valid identity header.",
    403: "The identity's role may not use this endpoint.",
    404: "No such record.",
    409: (
        "The change conflicts with the record's state, the record is owned by another system "
        "(`owner`), or its changes are still being synchronized (`Retry-After`)."
    ),
    413: "The request body is over the services' limit.",
}


def problem_responses(*statuses: int) -> dict[tuple[int, str], OpenApiResponse]:
    """`extend_schema(responses=...)` entries documenting the problems an endpoint answers,
    as `application/problem+json` (the media type they are sent with)."""
    return {
        (s, PROBLEM_MEDIA_TYPE): OpenApiResponse(PROBLEM_SCHEMA, description=_PROBLEM_WHEN[s])
        for s in statuses
    }
