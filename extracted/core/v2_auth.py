"""Who is asking on /v2 and /fhir, and may they: DRF authentication and permission classes.

`IdentityAuthentication` accepts only the proxy's signed `X-Ficus-Identity` (domain/identity.py),
read by `extracted.core.identity.verified_identity`, the same reading the legacy faces and the
dry-run middleware use. The verified `Identity` is `request.auth` (`identity_of(request)`);
`request.user` is a small `ServiceUser`, never a Django user: the services have no user table.

`RolePermission` admits the view's `read_roles` for safe methods and its `write_roles` for the
rest; a view that lists none admits nobody (fail closed). No identity → 401 with
`WWW-Authenticate: Ficus-Identity` (a scheme name is what makes DRF say 401, not 403); a role
the view does not list → 403. Refusals are logged with the reason and the route template,
never the token.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar

from django.http import HttpRequest
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from domain.identity import IDENTITY_HEADER, Identity, InvalidIdentityError
from extracted.core.identity import usable_identity_key, verified_identity

__all__ = ["AUTH_SCHEME", "IdentityAuthentication", "RolePermission", "ServiceUser", "identity_of"]

logger = logging.getLogger("ficus.v2")

# The scheme named in WWW-Authenticate on a 401; it also makes DRF answer 401, not 403.
AUTH_SCHEME = "Ficus-Identity"
_META_KEY = "HTTP_" + IDENTITY_HEADER.upper().replace("-", "_")


@dataclass(frozen=True, slots=True)
class ServiceUser:
    """`request.user` on /v2: the verified identity, shaped enough like a user for DRF."""

    identity: Identity
    is_authenticated: ClassVar[bool] = True
    is_anonymous: ClassVar[bool] = False

    @property
    def role(self) -> str:
        return self.identity.role

    def __str__(self) -> str:
        # No PHI: logins are staff accounts, and this string can reach logs.
        return self.identity.login


def _route(request: HttpRequest) -> str:
    match = request.resolver_match
    return f"/{match.route}" if match is not None else "<unrouted>"


class IdentityAuthentication(BaseAuthentication):
    """Trusts the proxy's signed identity header and nothing else (no cookie, no token).

    No header → None, so DRF answers 401 NotAuthenticated; a bad one → 401 with the codec's
    reason (which never contains the token). `clock` is injectable for tests of expiry.
    """

    clock: ClassVar[Callable[[], float]] = staticmethod(time.time)

    def authenticate(self, request: Request) -> tuple[ServiceUser, Identity] | None:
        header = request.META.get(_META_KEY)
        if not header:
            return None
        key = usable_identity_key()
        if key is None:
            logger.error(
                "identity refused on %s: FICUS_IDENTITY_KEY is unset or too short",
                _route(request._request),
            )
            raise exceptions.AuthenticationFailed("The service cannot verify identities.")
        try:
            # The one reading of the header the legacy faces and the dry-run middleware share.
            identity = verified_identity(request._request, now=type(self).clock())
        except InvalidIdentityError as e:
            logger.warning("identity refused on %s: %s", _route(request._request), e)
            raise exceptions.AuthenticationFailed(f"Invalid identity: {e}.") from e
        # On the Django request too, so the access log carries the request id (access_log.py).
        setattr(request._request, "ficus_identity", identity)  # noqa: B010
        return ServiceUser(identity), identity

    def authenticate_header(self, request: Request) -> str:
        return AUTH_SCHEME


def identity_of(request: Request) -> Identity:
    """The verified identity of a request that passed `RolePermission`."""
    identity = request.auth
    if not isinstance(identity, Identity):
        raise exceptions.NotAuthenticated()
    return identity


class RolePermission(BasePermission):
    """Admits roles from the view: `read_roles` for safe methods, `write_roles` for the rest.

    A view that lists no roles admits nobody, so a forgotten declaration fails closed.
    """

    message = "Your role may not use this endpoint."

    def has_permission(self, request: Request, view: APIView) -> bool:
        identity = request.auth
        if not isinstance(identity, Identity):
            return False  # DRF turns this into 401, since an authenticator exists
        attribute = "read_roles" if request.method in SAFE_METHODS else "write_roles"
        roles: Sequence[str] = getattr(view, attribute, ())
        if identity.role in roles:
            return True
        logger.warning(
            "access denied on %s: role %s (user %s, rid %s)",
            _route(request._request),
            identity.role,
            identity.user_id,
            identity.request_id,
        )
        return False
