"""The proxy's one reading of a request's legacy credential, as the plan says the app keeps it.

From the raw header fields (after the sanitizer), by `domain.legacy_session` kind: a cookie read
as the legacy app reads cookies (`domain.identity.legacy_cookie`: the first of that name), or a
header that must say one thing (two different values could be one session for the proxy and
another for legacy, so they are no credential). The result's `key` is what cohorts, pins and
the session cache use; for Basic it is a keyed hash, so the password is never held.

Pure: no mitmproxy, no framework.
"""

from __future__ import annotations

from collections.abc import Sequence

from domain.identity import legacy_cookie
from domain.legacy_session import (
    MAX_TOKEN_CHARS,
    Credential,
    CredentialKind,
    LegacySessionSettings,
    basic_credentials,
    keyed_session_key,
    trytond_session,
)
from proxy.headers import header_values

_AUTHORIZATION = "Authorization"


def read_credential(
    settings: LegacySessionSettings, fields: Sequence[tuple[bytes, bytes]], secret: bytes
) -> Credential | None:
    """The request's credential, or None if it carries none (or an ambiguous one)."""
    kind = settings.credential
    if kind is CredentialKind.COOKIE:
        token = legacy_cookie(header_values(fields, b"cookie"), settings.name)
        if not token or len(token) > MAX_TOKEN_CHARS:
            return None
        forward = (b"Cookie", f"{settings.name}={token}".encode("latin-1", "replace"))
        return Credential(token, token, forward)
    header = settings.name if kind is CredentialKind.HEADER else _AUTHORIZATION
    value = _single(header_values(fields, header.lower().encode("latin-1")))
    if value is None:
        return None
    forward = (header.encode("latin-1"), value.encode("latin-1"))
    if kind is CredentialKind.HEADER:
        token = value.strip()
        return Credential(token, token, forward) if token else None
    if kind is CredentialKind.TRYTOND_SESSION:
        parsed = trytond_session(value)
        if parsed is None:
            return None
        _, user_id, session = parsed
        # The session and its user, as trytond checks them; the login is the client's claim.
        key = f"{user_id}:{session}"
        return Credential(key, session, forward)
    decoded = basic_credentials(value)
    if decoded is None:
        return None
    return Credential(keyed_session_key(secret, kind, decoded), "", forward)


def _single(values: list[str]) -> str | None:
    distinct = set(values)
    if len(distinct) != 1:
        return None
    value = distinct.pop()
    return value if value.strip() and len(value) <= MAX_TOKEN_CHARS else None
