"""The conventions every service's modern face (/v2/...) shares, in one place.

A service's /v2 views subclass `V2APIView` (or mix `V2ViewMixin` into a DRF generic view) and
declare `read_roles` / `write_roles`; everything else is decided here, once:

* **Who:** `IdentityAuthentication` accepts only the proxy's signed `X-Ficus-Identity`
  (domain/identity.py), the same rule as the legacy face's `require_identity`. The verified
  `Identity` is `request.auth` (`identity_of(request)`), and `request.user` is a small
  `ServiceUser`, never a Django user: the services have no user table.
* **May they:** `RolePermission` admits the view's `read_roles` for safe methods and its
  `write_roles` otherwise. No identity → 401 (with `WWW-Authenticate: Ficus-Identity`), a role
  the view does not list → 403. Machine clients instead send an OAuth2 bearer token
  (`BearerAuthentication`, extracted/core/bearer.py) whose SMART scopes must cover the view's
  `resource_type` (`RoleOrScopePermission`): 401/403 with `WWW-Authenticate: Bearer error=...`.
* **Errors:** RFC 9457 (ex-7807) `application/problem+json`. Validation errors add an
  `errors` list whose items name the field: `{"field": "date_from", "message": "...",
  "code": "invalid"}` (`field` is null for errors about the request as a whole, dotted for
  nested fields). Unexpected failures are not caught here: they reach Django's handler500,
  whose body carries no detail.
* **Pages:** `V2Pagination`, page numbers (`page`, `page_size` ≤ 200, default 50), so a client
  sees `count`; links are relative (path + query), because behind the proxy the service
  does not know the host the client used. A bad `page` or `page_size` is a 400 naming it.
* **Caching:** every /v2 answer is `Cache-Control: no-store` (it may carry PHI).
* **Bodies** over DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB) are a 413 problem, after identity and
  role are checked.

The parts live in v2_auth.py, v2_errors.py and v2_pagination.py; import them from here, the
stable surface other services build on (`__all__`).

DRF's global defaults are left empty on purpose: the legacy faces are plain Django views with
their own byte-exact errors, and nothing here may leak into them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar
from zoneinfo import ZoneInfo

from django.conf import settings
from rest_framework import exceptions, serializers
from rest_framework.authentication import BaseAuthentication
from rest_framework.pagination import BasePagination
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from domain.records.instants import in_zone
from extracted.core.bearer import BearerAuthentication, RoleOrScopePermission, bearer_challenge
from extracted.core.bodies import body_length
from extracted.core.v2_auth import (
    AUTH_SCHEME,
    IdentityAuthentication,
    RolePermission,
    ServiceUser,
    identity_of,
)
from extracted.core.v2_errors import (
    PROBLEM_MEDIA_TYPE,
    PayloadTooLarge,
    as_api_exception,
    exception_headers,
    field_errors,
    problem_exception_handler,
    problem_responses,
)
from extracted.core.v2_pagination import V2Pagination

if TYPE_CHECKING:
    from rest_framework.permissions import _PermissionClass
else:
    _PermissionClass = type

__all__ = [
    "AUTH_SCHEME",
    "PROBLEM_MEDIA_TYPE",
    "AsciiIntegerField",
    "HospitalDateTimeField",
    "IdentityAuthentication",
    "RolePermission",
    "ServiceUser",
    "V2APIView",
    "V2Pagination",
    "V2ViewMixin",
    "as_api_exception",
    "exception_headers",
    "field_errors",
    "identity_of",
    "problem_exception_handler",
    "problem_responses",
]


# --- fields -----------------------------------------------------------------------------------


class HospitalDateTimeField(serializers.DateTimeField):
    """ISO 8601 with the hospital's UTC offset (FICUS_HOSPITAL_TZ), read at render time."""

    def default_timezone(self) -> ZoneInfo:
        return ZoneInfo(settings.FICUS_HOSPITAL_TZ)

    def enforce_timezone(self, value: datetime) -> datetime:
        # DRF's astimezone goes through UTC, which overflows for a legacy-valid start such as
        # 9999-12-31 23:30 in Chicago (year 10000 in UTC); in_zone does not. An instant whose
        # hospital wall clock is past year 9999 (the end of a late appointment on 99991231) is
        # kept at its own offset, the same instant in RFC 3339 (domain.records.instants).
        zone = self.default_timezone()
        if value.utcoffset() is None:
            # DRF's own check of a naive time (datetime_exists) also goes through UTC.
            local = value.replace(tzinfo=zone)
            if not _unique_wall_time(local):
                self.fail("make_aware", timezone=zone)
            return local
        try:
            return in_zone(value, zone)
        except OverflowError:
            return value


def _unique_wall_time(local: datetime) -> bool:
    """Whether the wall time happened exactly once: in a daylight-saving gap or overlap the two
    folds have different offsets (PEP 495), and no UTC datetime is needed to see it."""
    return local.utcoffset() == local.replace(fold=1).utcoffset()


class AsciiIntegerField(serializers.IntegerField):
    """DRF's IntegerField, but text must be ASCII: `int("١٢")` is 12, a number nobody typed
    (the same rule as extracted.core.numbers for the parameters read by hand)."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, str) and not data.isascii():
            self.fail("invalid")
        return int(super().to_internal_value(data))


# --- views ------------------------------------------------------------------------------------


class V2ViewMixin:
    """Put first in a /v2 view's bases; declare `read_roles` (and `write_roles` for writes)."""

    # The proxy's signed identity (people), then OAuth2 bearer tokens (machine clients).
    authentication_classes: Sequence[type[BaseAuthentication]] = [
        IdentityAuthentication,
        BearerAuthentication,
    ]
    permission_classes: Sequence[_PermissionClass] = [RoleOrScopePermission]
    renderer_classes: Sequence[type[BaseRenderer]] = [JSONRenderer]
    pagination_class: type[BasePagination] | None = V2Pagination
    read_roles: ClassVar[tuple[str, ...]] = ()
    write_roles: ClassVar[tuple[str, ...]] = ()
    # The FHIR resource type a machine client's SMART scope must name ("": no token admitted).
    resource_type: ClassVar[str] = ""

    def get_authenticate_header(self, request: Request) -> str:
        challenge = bearer_challenge(request)
        if challenge is not None:
            return challenge
        return str(super().get_authenticate_header(request))  # type: ignore[misc]

    def get_exception_handler(self) -> Callable[[Exception, Mapping[str, Any]], Response | None]:
        return problem_exception_handler

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        # A method the view does not have is a 405 before anything else, as on the legacy face:
        # nobody should learn about roles from an endpoint that cannot do the thing at all.
        method = (request.method or "").lower()
        if method not in self.http_method_names or not hasattr(self, method):  # type: ignore[attr-defined]
            raise exceptions.MethodNotAllowed(request.method or "")
        super().initial(request, *args, **kwargs)  # type: ignore[misc]
        # After identity and role: who may not write learns nothing from a body's size.
        # DRF reads the stream itself, past Django's limit; the proxy always sends a length.
        if body_length(request._request) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            raise PayloadTooLarge

    def finalize_response(
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)  # type: ignore[misc]
        response["Cache-Control"] = "no-store"
        return response


class V2APIView(V2ViewMixin, APIView):
    """A plain /v2 view (for endpoints that are not list/retrieve of a queryset)."""
