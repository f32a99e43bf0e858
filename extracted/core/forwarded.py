"""The address the client used, for absolute links: trusted only on requests from the proxy.

FHIR wants absolute `link` and `fullUrl`s (extracted.core.fhir); built from the Host the
service received they would name the service's own port, which clients cannot reach. The
proxy strips every client-sent `X-Forwarded-*` (proxy.sanitizer) and sets its own
`X-Forwarded-Host` and `X-Forwarded-Proto` (proxy.router), so those two say where the client
was, but only on a request that really came through the proxy. The signed `X-Ficus-Identity`
proves that (the client cannot make one, and it is bound to this request's method, path and
query): with a valid one this middleware makes the forwarded host and scheme the request's
own, so `build_absolute_uri` names the proxy. Without one, a client's `X-Forwarded-*` is
ignored (this is why Django's global USE_X_FORWARDED_HOST stays off). The forwarded host
must still be in ALLOWED_HOSTS (FICUS_ALLOWED_HOSTS), or Django answers 400.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Final

from django.http import HttpRequest, HttpResponse

from domain.identity import InvalidIdentityError
from extracted.core.identity import verified_identity

_HOST: Final = "HTTP_X_FORWARDED_HOST"
_PROTO: Final = "HTTP_X_FORWARDED_PROTO"
_SCHEMES: Final = frozenset({"http", "https"})


def adopt_forwarded_address(request: HttpRequest) -> bool:
    """Make the proxy's forwarded host/scheme the request's; False (untouched) if unproven."""
    meta = request.META
    host = meta.get(_HOST)
    if not host or "," in host:  # one proxy hop; a list means someone else added one
        return False
    try:
        verified_identity(request, now=time.time())
    except InvalidIdentityError:
        return False
    meta["HTTP_HOST"] = host
    proto = str(meta.get(_PROTO, "")).lower()
    if proto in _SCHEMES:
        meta["wsgi.url_scheme"] = proto  # WSGIRequest.scheme reads it (META is the environ)
    return True


class ForwardedAddressMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        adopt_forwarded_address(request)
        return self.get_response(request)
