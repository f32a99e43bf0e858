"""OAuth2 bearer tokens on /v2 and /fhir: machine clients, beside the proxy's signed identity.

A machine client (no legacy session, so no `X-Ficus-Identity`) gets a token from the control
plane (`POST /oauth2/token`, client credentials, django-oauth-toolkit) and sends
`Authorization: Bearer <token>`; the proxy passes it through untouched. The services check it
here against the token table (django-oauth-toolkit's own verification: known, unexpired, not
revoked), on every request, so a revoked client stops at once. The token's holder becomes an
`Identity` with role `MACHINE_ROLE` (login `client:<client_id>`, the access audit's "who"),
and its SMART scopes decide (`domain.smart_scopes.allows`, per the view's `resource_type`,
read for safe methods and write for the rest); a view without a resource type admits no
token. Nothing here logs a token.

Errors say why in the face's format (problem+json or OperationOutcome, by the views'
exception handlers) with RFC 6750's challenge: 401 `error="invalid_token"`, 403
`error="insufficient_scope"` naming the scope that would do.
"""

from __future__ import annotations

import logging
from typing import Final

from oauth2_provider.contrib.rest_framework import OAuth2Authentication
from rest_framework import exceptions
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.views import APIView

from domain.identity import Identity
from domain.smart_scopes import allows, needed
from extracted.core.identity import request_id_of
from extracted.core.v2_auth import RolePermission, ServiceUser

logger = logging.getLogger("ficus.v2")

MACHINE_ROLE: Final = "MACHINE"
REALM: Final = "ficus"
_SCOPES_ATTRIBUTE: Final = "ficus_scopes"


def sends_bearer(request: Request) -> bool:
    header = str(request.META.get("HTTP_AUTHORIZATION", ""))
    return header[:7].lower() == "bearer "


class BearerAuthentication(OAuth2Authentication):  # type: ignore[misc]  # not annotated
    """A valid bearer token → (ServiceUser, Identity of the client); no bearer → None."""

    www_authenticate_realm = REALM

    def authenticate(self, request: Request) -> tuple[ServiceUser, Identity] | None:
        if not sends_bearer(request):
            return None
        found = super().authenticate(request)
        if found is None:
            raise exceptions.AuthenticationFailed("The access token is invalid or has expired.")
        _, token = found
        client_id = str(token.application.client_id) if token.application else "unknown"
        identity = Identity(
            user_id=0,
            login=f"client:{client_id}",
            role=MACHINE_ROLE,
            expires_at=int(token.expires.timestamp()),
            request_id=request_id_of(request._request),
        )
        django_request = request._request
        setattr(django_request, "ficus_identity", identity)  # noqa: B010  # the access log's
        setattr(django_request, _SCOPES_ATTRIBUTE, frozenset(str(token.scope).split()))
        return ServiceUser(identity), identity


class InsufficientScope(exceptions.PermissionDenied):
    def __init__(self, scope: str) -> None:
        super().__init__(f"The access token lacks the scope {scope}.")
        # exception_headers (extracted.core.v2_errors) sends it on both faces.
        self.auth_header = f'Bearer realm="{REALM}", error="insufficient_scope", scope="{scope}"'


class RoleOrScopePermission(RolePermission):
    """Roles for people (the signed identity), SMART scopes for machine clients (tokens)."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        identity = request.auth
        if not isinstance(identity, Identity) or identity.role != MACHINE_ROLE:
            return super().has_permission(request, view)
        resource = str(getattr(view, "resource_type", ""))
        write = request.method not in SAFE_METHODS
        granted: frozenset[str] = getattr(request._request, _SCOPES_ATTRIBUTE, frozenset())
        if allows(granted, resource, write=write):
            return True
        logger.warning(
            "access denied: %s lacks a scope for %s %s (rid %s)",
            identity.login,
            "writing" if write else "reading",
            resource or "this endpoint",
            identity.request_id,
        )
        raise InsufficientScope(needed(resource or "*", write=write))


def bearer_challenge(request: Request) -> str | None:
    """The WWW-Authenticate of a 401 for a request that sent a bearer token, else None."""
    if not sends_bearer(request):
        return None
    return f'Bearer realm="{REALM}", error="invalid_token"'
