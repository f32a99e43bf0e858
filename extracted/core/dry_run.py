"""Dry-run requests (contract C4): real answers, no effects, for shadowing writes safely.

When the proxy shadows a write, it sends the copy with `X-Ficus-Dry-Run`, a token signed with
the identity key for that one request (its id, method, path and query, as the identity token).
This middleware then runs the whole request inside one transaction per service database alias
and always rolls it back: the service's rows, its outbox rows and its access-audit rows all
vanish, and the response is what the write would really have answered. Views can ask
`is_dry_run(request)` to avoid effects outside their own database (a booking then peeks at the
next legacy id instead of allocating it).

Middleware rather than a view decorator, so no write endpoint (legacy face, /v2, future ones)
can forget it. A header that is present but not valid (forged, expired, living longer than the
proxy ever mints, for another request, or with no verifiable identity to compare against) is
refused with the legacy 403 body: running it for real would turn a shadow copy into a second
write, so the only safe answer is no.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextlib import ExitStack

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponseBase
from django.urls import Resolver404, resolve

from domain.identity import (
    DRY_RUN_HEADER,
    DryRun,
    InvalidDryRunError,
    InvalidIdentityError,
    verify_dry_run,
)
from extracted.core.identity import request_binding, usable_identity_key, verified_identity
from extracted.core.legacy_errors import ACCESS_DENIED, legacy_error_response

logger = logging.getLogger("ficus.dry_run")

_META_KEY = "HTTP_" + DRY_RUN_HEADER.upper().replace("-", "_")
_ATTRIBUTE = "ficus_dry_run"


def is_dry_run(request: HttpRequest) -> bool:
    return isinstance(getattr(request, _ATTRIBUTE, None), DryRun)


def _verified(request: HttpRequest, header: str, now: float) -> DryRun:
    key = usable_identity_key()
    if key is None:
        raise InvalidDryRunError("FICUS_IDENTITY_KEY is unset or too short")
    try:
        identity = verified_identity(request, now=now)
    except InvalidIdentityError as e:
        raise InvalidDryRunError(f"no verifiable identity to match ({e})") from e
    return verify_dry_run(
        header, key, now, request_id=identity.request_id, binding=request_binding(request)
    )


class DryRunMiddleware:
    def __init__(
        self,
        get_response: Callable[[HttpRequest], HttpResponseBase],
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.get_response = get_response
        self.clock = clock

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        header = request.META.get(_META_KEY)
        if header is None:
            return self.get_response(request)
        try:
            dry_run = _verified(request, header, self.clock())
        except InvalidDryRunError as e:
            logger.warning("dry-run refused on %s %s: %s", request.method, _path_kind(request), e)
            return legacy_error_response(ACCESS_DENIED)
        setattr(request, _ATTRIBUTE, dry_run)
        aliases = _aliases_for(request)
        with ExitStack() as stack:
            for alias in aliases:
                stack.enter_context(transaction.atomic(using=alias))
            try:
                # Views turn their own exceptions into responses before they get here, so the
                # rollback is decided below in every case, not only when something raises.
                response = self.get_response(request)
            finally:
                for alias in aliases:
                    transaction.set_rollback(True, using=alias)
        logger.info("dry-run rolled back rid=%s", dry_run.request_id)
        return response


def _aliases_for(request: HttpRequest) -> tuple[str, ...]:
    """The database alias of the service whose view will answer; all of them if unclear.

    A process may serve several services; opening a transaction on each one's database for
    every dry run would be waste, and would touch a database the request has nothing to do
    with. A view's module (`extracted.<service>....`) names its service.
    """
    try:
        match = resolve(request.path_info, getattr(request, "urlconf", None))
    except Resolver404:
        return tuple(settings.SERVICES)
    module = getattr(match.func, "__module__", "") or ""
    parts = module.split(".")
    if len(parts) > 1 and parts[0] == "extracted" and parts[1] in settings.SERVICES:
        return (parts[1],)
    return tuple(settings.SERVICES)


def _path_kind(request: HttpRequest) -> str:
    # Never the raw path (it carries ids); the resolver has not run yet, so only its family.
    return "/api/..." if request.path.startswith("/api/") else "/..."
