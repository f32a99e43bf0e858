"""The service side of the identity bridge: who is asking, as signed by the proxy, and nothing else.

A service never sees the legacy session cookie. The proxy resolves it and sends
`X-Ficus-Identity`, HMAC-signed with FICUS_IDENTITY_KEY (domain/identity.py); `require_identity`
verifies it, puts the `Identity` on the request (`request.ficus_identity`) and applies the
endpoint's role list, answering exactly as the legacy app would: 401 NOT LOGGED IN for a missing,
forged, malformed or expired header or one minted for another request (its id, method, path or
query: a token is bound to one request), 403 ACCESS DENIED for a role the endpoint does not admit.

A view decorator rather than middleware, so each endpoint declares its roles next to its code
and unauthenticated endpoints (the health check) need no exemption list.

A missing or too-short key makes every request 401: a service that cannot check signatures
must not guess (runservice refuses to start in that state, see `usable_identity_key`). Refusals
are logged with their reason and the route template; never the header, never the URL's ids.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from typing import Concatenate, ParamSpec, cast

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from domain.identity import (
    IDENTITY_HEADER,
    REQUEST_ID_HEADER,
    Binding,
    Identity,
    InvalidIdentityError,
    check_key,
    verify_identity,
)
from extracted.core.legacy_errors import ACCESS_DENIED, NOT_LOGGED_IN, legacy_error_response

logger = logging.getLogger("ficus.identity")

P = ParamSpec("P")

# Django exposes request headers in META as HTTP_<NAME>, upper case, dashes as underscores.
_META_KEY = "HTTP_" + IDENTITY_HEADER.upper().replace("-", "_")
_REQUEST_ID_META_KEY = "HTTP_" + REQUEST_ID_HEADER.upper().replace("-", "_")


class IdentifiedRequest(HttpRequest):
    """An HttpRequest that passed `require_identity` (for type checkers; same object at runtime)."""

    ficus_identity: Identity


def usable_identity_key() -> bytes | None:
    """FICUS_IDENTITY_KEY as bytes, or None when it is empty or too short to be safe."""
    raw = settings.FICUS_IDENTITY_KEY.encode("utf-8")
    try:
        return check_key(raw)
    except ValueError:
        return None


def request_binding(request: HttpRequest) -> Binding:
    """What the proxy bound this request's tokens to: method, decoded path, raw query.

    `request.path` is PATH_INFO decoded as UTF-8, which is the proxy's canonical path with its
    escapes decoded (`domain.identity.binding_for_target`); the query string reaches WSGI raw.
    """
    return Binding(request.method or "", request.path, request.META.get("QUERY_STRING", ""))


def request_id_of(request: HttpRequest) -> str:
    """The request id the proxy sent in `X-Ficus-Request-Id` ('' if none)."""
    return str(request.META.get(_REQUEST_ID_META_KEY, ""))


def verified_identity(request: HttpRequest, *, now: float) -> Identity:
    """The identity the proxy signed for this very request; raises InvalidIdentityError.

    Shared by `require_identity`, the dry-run middleware and the /v2 API's authentication, so
    there is one reading of the header. A missing or short key is an error too (never a guess),
    and so is a token minted for another request (other id, method, path or query).
    """
    key = usable_identity_key()
    if key is None:
        raise InvalidIdentityError("FICUS_IDENTITY_KEY is unset or too short")
    return verify_identity(
        request.META.get(_META_KEY),
        key,
        now,
        binding=request_binding(request),
        request_id=request_id_of(request),
    )


def _route(request: HttpRequest) -> str:
    match = request.resolver_match
    return f"/{match.route}" if match is not None else "<unrouted>"


def require_identity(
    *roles: str, clock: Callable[[], float] = time.time
) -> Callable[
    [Callable[Concatenate[IdentifiedRequest, P], HttpResponse]],
    Callable[Concatenate[HttpRequest, P], HttpResponse],
]:
    """Admit only requests with a valid identity whose role is one of `roles`."""
    allowed = frozenset(roles)

    def decorate(
        view: Callable[Concatenate[IdentifiedRequest, P], HttpResponse],
    ) -> Callable[Concatenate[HttpRequest, P], HttpResponse]:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, /, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
            try:
                identity = verified_identity(request, now=clock())
            except InvalidIdentityError as e:
                # The reason comes from the codec and never contains the token itself.
                logger.warning("identity refused on %s: %s", _route(request), e)
                return legacy_error_response(NOT_LOGGED_IN)
            # Verified, so it goes on the request even if the role is refused: the access log
            # then carries the request id of denied requests too.
            identified = cast(IdentifiedRequest, request)
            identified.ficus_identity = identity
            if identity.role not in allowed:
                logger.warning(
                    "access denied on %s: role %s (user %s, rid %s)",
                    _route(request),
                    identity.role,
                    identity.user_id,
                    identity.request_id,
                )
                return legacy_error_response(ACCESS_DENIED)
            return view(identified, *args, **kwargs)

        return wrapper

    return decorate
