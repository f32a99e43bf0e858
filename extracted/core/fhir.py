"""FHIR R4 plumbing every service's /fhir face shares: media type, errors, search and Bundles.

A service maps its model to a resource dict (that part is the service's, e.g.
extracted/appointments/fhir.py) and builds its views on `FHIRViewMixin`; this module supplies
the rest, so every resource behaves alike:

* responses are `application/fhir+json` (plain `application/json` if the client asks for it);
* every error is an `OperationOutcome` with the HTTP status (404 `not-found`, 401 `login`,
  403 `forbidden`, 400 `invalid` with the offending search parameter in `expression`);
* identity and roles are the /v2 ones (extracted/core/v2.py): the proxy's signed header only;
* search answers are `Bundle` `searchset`s paged with `_count` (≤ 200) and `_offset`, with
  `self`/`first`/`next`/`previous` links and `total`;
* unknown search parameters are refused (400), not silently ignored: a typo such as `pateint=`
  must not widen a search over patient data (FHIR's `handling=strict`, always on).

Links and `fullUrl`s are absolute, as FHIR wants. The base is FICUS_FHIR_BASE_URL when set (a
fixed public address), else derived from the request: through the proxy that is the client's
address, the proxy's X-Forwarded-Host (extracted.core.forwarded), so every link resolves there.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from rest_framework import exceptions
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from domain.records.instants import in_zone, normal
from extracted.core.calendar_ends import LAST_INSTANT, day_bounds
from extracted.core.numbers import ascii_int
from extracted.core.v2 import as_api_exception, exception_headers, field_errors
from extracted.core.v2_errors import PayloadTooLarge

__all__ = [
    "FHIR_MEDIA_TYPE",
    "DateRange",
    "FHIRJSONRenderer",
    "Issue",
    "PlainJSONRenderer",
    "check_format",
    "fhir_base_url",
    "fhir_exception_handler",
    "operation_outcome",
    "outcome_response",
    "paging_of",
    "parse_date_param",
    "parse_reference_param",
    "reject_unknown_params",
    "searchset_bundle",
    "unknown_endpoint",
]

FHIR_MEDIA_TYPE = "application/fhir+json"
# Paging of search results; parameters every search accepts besides its own.
DEFAULT_COUNT = 50
MAX_COUNT = 200
PAGING_PARAMS = ("_count", "_offset")
# FHIR's `_format`: only JSON is served, so it may only ask for JSON.
FORMAT_VALUES = ("json", "application/json", FHIR_MEDIA_TYPE)
# Deeper than any real search pages; keeps the SQL OFFSET a sane number.
MAX_OFFSET = 1_000_000
# Ten digits, as before: larger ids cannot exist (the legacy ids are 32-bit) and match nothing.
MAX_REFERENCE_ID = 9_999_999_999


class FHIRJSONRenderer(JSONRenderer):
    """The default on /fhir. Its DRF `format` is plain "json", like PlainJSONRenderer's: FHIR's
    own `_format` names representations there, and one format keeps DRF's `format` out."""

    media_type = FHIR_MEDIA_TYPE
    format = "json"


class PlainJSONRenderer(JSONRenderer):
    """`application/json` for clients that ask for it by Accept (the same body)."""


# --- OperationOutcome -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Issue:
    """One OperationOutcome.issue. `code` is from FHIR's IssueType value set."""

    severity: str
    code: str
    diagnostics: str
    expression: tuple[str, ...] = field(default=())


def operation_outcome(issues: Iterable[Issue]) -> dict[str, Any]:
    rendered = []
    for issue in issues:
        item: dict[str, Any] = {"severity": issue.severity, "code": issue.code}
        item["diagnostics"] = issue.diagnostics
        if issue.expression:
            item["expression"] = list(issue.expression)
        rendered.append(item)
    return {"resourceType": "OperationOutcome", "issue": rendered}


class NotAnInstant(exceptions.APIException):
    """A stored time that FHIR's `instant` type cannot write (see `fhir_instant`)."""

    status_code = 400
    default_code = "not_an_instant"


# FHIR's instant: years 0001-9999 and an offset of whole minutes from -14:00 to +14:00.
_FHIR_OFFSET_LIMIT = timedelta(hours=14)


def _fhir_offset(offset: timedelta | None) -> bool:
    return offset is not None and abs(offset) <= _FHIR_OFFSET_LIMIT and not offset.seconds % 60


def fhir_instant(value: datetime, zone: tzinfo, what: str) -> str:
    """`value` as a FHIR instant at the hospital's offset; in UTC when that offset is not one
    FHIR can write (local mean time before standard time has seconds); NotAnInstant (400) when
    neither is in years 1-9999 (0001-01-01 00:00 in Tokyo is year 0 in UTC, the end of a late
    appointment on 9999-12-31 is year 10000 locally). `what` names the element for the client."""
    try:
        local = in_zone(value, zone)
    except OverflowError:
        local = None
    if local is not None and _fhir_offset(local.utcoffset()):
        return local.isoformat(timespec="seconds")
    utc = normal(value)
    if utc.tzinfo is UTC:
        return utc.isoformat(timespec="seconds")
    raise not_an_instant(what)


def not_an_instant(what: str) -> NotAnInstant:
    """The 400 for a stored time FHIR cannot write; `what` names the element for the client."""
    return NotAnInstant(
        f"{what} cannot be written as a FHIR instant (years 0001-9999 at an offset of whole"
        " minutes within 14 hours); read it on /v2 or the legacy API, which keep the local time."
    )


# Which IssueType each DRF exception is; anything else is a `processing` error.
_ISSUE_CODES: tuple[tuple[type[exceptions.APIException], str], ...] = (
    (exceptions.ValidationError, "invalid"),
    (exceptions.NotAuthenticated, "login"),
    (exceptions.AuthenticationFailed, "login"),
    (exceptions.PermissionDenied, "forbidden"),
    (exceptions.NotFound, "not-found"),
    (exceptions.MethodNotAllowed, "not-supported"),
    (exceptions.NotAcceptable, "not-supported"),
    (exceptions.Throttled, "throttled"),
    (PayloadTooLarge, "too-long"),
    (NotAnInstant, "not-supported"),
)


def _issues_for(exc: exceptions.APIException) -> list[Issue]:
    if isinstance(exc, exceptions.ValidationError):
        return [
            Issue(
                "error",
                "invalid",
                f"{e['field']}: {e['message']}" if e["field"] else e["message"],
                (e["field"],) if e["field"] else (),
            )
            for e in field_errors(exc.detail)
        ]
    code = next((c for kind, c in _ISSUE_CODES if isinstance(exc, kind)), "processing")
    return [Issue("error", code, str(exc.detail))]


def fhir_exception_handler(exc: Exception, context: Mapping[str, Any]) -> Response | None:
    """DRF's EXCEPTION_HANDLER for /fhir: an OperationOutcome with the HTTP status."""
    api_exc = as_api_exception(exc)
    if api_exc is None:
        return None  # unexpected: Django's handler500, which says nothing
    return Response(
        operation_outcome(_issues_for(api_exc)),
        status=api_exc.status_code,
        headers=exception_headers(api_exc),
    )


# --- search parameters ------------------------------------------------------------------------


def reject_unknown_params(request: Request, known: Iterable[str]) -> None:
    """400 for any query parameter that is neither in `known`, paging, nor `_format`, and for
    any given without a value (`family=` would otherwise match every patient)."""
    allowed = {*known, *PAGING_PARAMS, "_format"}
    errors = {
        name: ["Unknown search parameter for this resource."]
        for name in sorted(set(request.query_params) - allowed)
    }
    for name, values in request.query_params.lists():
        if name not in errors and any(not value.strip() for value in values):
            errors[name] = ["Must not be empty: give a value or leave the parameter out."]
    if errors:
        raise exceptions.ValidationError(errors)
    check_format(request)


def check_format(request: Request) -> None:
    """FHIR's `_format`, when given, must ask for JSON (XML and Turtle are not served)."""
    value = request.query_params.get("_format")
    # An unencoded "+" arrives as a space ("application/fhir json"); FHIR asks servers to cope.
    if value is not None and value.split(";")[0].strip().replace(" ", "+") not in FORMAT_VALUES:
        raise exceptions.ValidationError(
            {"_format": [f"Only JSON is served; use one of {', '.join(FORMAT_VALUES)}."]}
        )


def parse_reference_param(name: str, value: str, resource_type: str) -> int:
    """`17` or `Patient/17` → 17; anything else is a 400 naming the parameter."""
    found = ascii_int(value.removeprefix(f"{resource_type}/"), low=0, high=MAX_REFERENCE_ID)
    if found is None:
        raise exceptions.ValidationError(
            {name: [f"Expected a {resource_type} id or {resource_type}/id, got {value!r}."]}
        )
    return found


@dataclass(frozen=True, slots=True)
class DateRange:
    """A half-open interval [lower, upper) of aware datetimes; None means unbounded."""

    lower: datetime | None = None
    upper: datetime | None = None


_DATE_PARAM = re.compile(r"(eq|ge|gt|le|lt)?(\d{4}-\d{2}-\d{2})")


def parse_date_param(name: str, values: Sequence[str], tz: ZoneInfo) -> DateRange:
    """FHIR `date` search values at day precision (`2026-11-21`, `ge2026-11-01`, ...).

    A day is a day in `tz` (the hospital's), as on the legacy appointment book. Several values
    are ANDed, so `date=ge2026-11-01&date=lt2026-12-01` is November.
    """
    lower: datetime | None = None
    upper: datetime | None = None
    for value in values:
        match = _DATE_PARAM.fullmatch(value)
        try:
            day = date.fromisoformat(match.group(2)) if match else None
        except ValueError:
            day = None
        if match is None or day is None:
            raise exceptions.ValidationError(
                {name: [f"Expected [eq|ge|gt|le|lt]YYYY-MM-DD, got {value!r}."]}
            )
        start, end = day_bounds(day, tz)  # end None: past 9999-12-31, nothing is later
        prefix = match.group(1) or "eq"
        # Each prefix as bounds on the day [start, end), then intersected with the others.
        low, high = {
            "eq": (start, end),
            "ge": (start, None),
            "gt": (end, None),
            "le": (None, end),
            "lt": (None, start),
        }[prefix]
        if prefix == "gt" and end is None:
            low = LAST_INSTANT  # after the calendar's last day: no appointment can be there
        if low is not None:
            lower = low if lower is None else max(lower, low)
        if high is not None:
            upper = high if upper is None else min(upper, high)
    return DateRange(lower, upper)


def _bounded_int(request: Request, name: str, *, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    value = ascii_int(raw, low=low, high=high)
    if value is None:
        raise exceptions.ValidationError({name: [f"Must be an integer from {low} to {high}."]})
    return value


def paging_of(request: Request) -> tuple[int, int]:
    """(`_count`, `_offset`) from the query, validated; a bad one is a 400 naming it."""
    count = _bounded_int(request, "_count", default=DEFAULT_COUNT, low=1, high=MAX_COUNT)
    offset = _bounded_int(request, "_offset", default=0, low=0, high=MAX_OFFSET)
    return count, offset


# --- Bundle -----------------------------------------------------------------------------------


def fhir_base_url(request: Request) -> str:
    configured: str = getattr(settings, "FICUS_FHIR_BASE_URL", "")
    return configured.rstrip("/") if configured else request.build_absolute_uri("/fhir")


def searchset_bundle(
    request: Request,
    *,
    resource_type: str,
    items: Sequence[Any],
    total: int,
    count: int,
    offset: int,
    to_resource: Callable[[Any], dict[str, Any]],
) -> dict[str, Any]:
    """A `searchset` Bundle of one page: `items` are the page's rows, `total` all matches."""
    base = fhir_base_url(request)
    params = [
        (k, v) for k, vs in request.query_params.lists() for v in vs if k not in PAGING_PARAMS
    ]

    def link(relation: str, at: int) -> dict[str, str]:
        query = urlencode([*params, ("_count", str(count)), ("_offset", str(at))])
        return {"relation": relation, "url": f"{base}/{resource_type}?{query}"}

    links = [link("self", offset), link("first", 0)]
    if offset + count < total:
        links.append(link("next", offset + count))
    if offset > 0:
        links.append(link("previous", max(offset - count, 0)))
    entries = []
    for item in items:
        resource = to_resource(item)
        entries.append(
            {
                "fullUrl": f"{base}/{resource_type}/{resource['id']}",
                "resource": resource,
                "search": {"mode": "match"},
            }
        )
    found: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": total,
        "link": links,
    }
    if entries:  # FHIR JSON never has empty arrays: no matches means no `entry` at all
        found["entry"] = entries
    return found


def outcome_response(status: int, code: str, diagnostics: str) -> HttpResponse:
    """An OperationOutcome answered outside DRF (Django's 400/404/500 handlers)."""
    body = operation_outcome([Issue("error", code, diagnostics)])
    response = HttpResponse(json.dumps(body), status=status, content_type=FHIR_MEDIA_TYPE)
    response["Cache-Control"] = "no-store"
    return response


def unknown_endpoint(request: HttpRequest, rest: str = "") -> HttpResponse:
    """Any /fhir path no service serves (`/fhir/Observation`, `/fhir/metadata`): a 404
    OperationOutcome instead of the plain-text page, so FHIR clients can read the answer."""
    return outcome_response(404, "not-supported", "No such FHIR endpoint here.")
