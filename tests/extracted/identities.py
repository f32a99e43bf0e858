"""Signed identity headers for the personas, as the proxy would send them.

A token is good for one request only (its id, method, path and query: domain/identity.py), so it
is signed for the request it goes on. Against a live server, pass `method` and `target` to
`headers_for`. With Django's test client, `headers_for(persona)` gives a value the test
client (`ProxiedClient`, the `client` fixture of tests/extracted) signs for the exact request
it then sends, adding `X-Ficus-Request-Id` as the proxy does; `last_sent` holds what it sent.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.core.handlers.wsgi import WSGIRequest
from django.test import Client

from domain.identity import (
    DRY_RUN_HEADER,
    IDENTITY_HEADER,
    REQUEST_ID_HEADER,
    Binding,
    DryRun,
    Identity,
    binding_for_target,
    sign_dry_run,
    sign_identity,
)
from extracted.core.identity import request_binding

KEY = "test-identity-key-0123456789-abcdefghijklmnop"
OTHER_KEY = "an-attackers-guess-at-the-key-0123456789abcdef"

PERSONAS = {
    # persona: (user_id, login, role)
    "clinician": (1, "clinician", "CLIN"),
    "scheduler": (2, "scheduler", "SCHED"),
    "billing": (3, "billing", "BILL"),
    "admin": (6, "admin", "ADMIN"),
    "operator": (4, "operator", "OPER"),
    "auditor": (5, "auditor", "AUDIT"),
}

_REQUEST_ID_META = "HTTP_" + REQUEST_ID_HEADER.upper().replace("-", "_")


class Unsigned(str):
    """A header value still to be signed for the request it goes on (by `ProxiedClient`)."""

    sign: Callable[[Binding], str]
    request_id: str

    def __new__(cls, sign: Callable[[Binding], str], request_id: str) -> Unsigned:
        value = super().__new__(cls, f"unsigned-token-for-{request_id}")
        value.sign = sign
        value.request_id = request_id
        return value


def identity_header(
    persona: str,
    *,
    key: str = KEY,
    expires_in: int = 60,
    request_id: str = "rid-test",
    binding: Binding | None = None,
) -> str:
    user_id, login, role = PERSONAS[persona]

    def sign(bound_to: Binding) -> str:
        # Issued when signed, as the proxy signs: a module-level header never goes stale.
        issued = int(time.time())
        identity = Identity(user_id, login, role, issued + expires_in, request_id)
        return sign_identity(identity, key.encode(), binding=bound_to, issued_at=issued)

    return Unsigned(sign, request_id) if binding is None else sign(binding)


def dry_run_header(
    request_id: str = "rid-test",
    *,
    key: str = KEY,
    expires_in: int = 30,
    binding: Binding | None = None,
) -> dict[str, str]:
    def sign(bound_to: Binding) -> str:
        issued = int(time.time())
        token = DryRun(request_id, issued + expires_in)
        return sign_dry_run(token, key.encode(), binding=bound_to, issued_at=issued)

    return {DRY_RUN_HEADER: Unsigned(sign, request_id) if binding is None else sign(binding)}


def headers_for(
    persona: str, *, method: str | None = None, target: str | None = None, **kwargs: Any
) -> dict[str, str]:
    """The identity header (and, for a live server, the request id) the proxy would send."""
    if method is None or target is None:
        return {IDENTITY_HEADER: identity_header(persona, **kwargs)}
    binding = binding_for_target(method, target.encode("ascii"))
    request_id = kwargs.get("request_id", "rid-test")
    return {
        IDENTITY_HEADER: identity_header(persona, binding=binding, **kwargs),
        REQUEST_ID_HEADER: request_id,
    }


class ProxiedClient(Client):
    """Django's test client, signing `Unsigned` header values as the proxy signs for a request."""

    last_sent: dict[str, Any]

    def request(self, **request: Any) -> Any:
        unsigned = {name: v for name, v in request.items() if isinstance(v, Unsigned)}
        if unsigned:
            environ = self._base_environ(**request)  # type: ignore[attr-defined]  # not in stubs
            binding = request_binding(WSGIRequest(environ))
            request.setdefault(_REQUEST_ID_META, next(iter(unsigned.values())).request_id)
            request.update({name: v.sign(binding) for name, v in unsigned.items()})
        self.last_sent = request
        return super().request(**request)
