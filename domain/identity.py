"""The identity bridge's token: who the clinician is, signed by the proxy for the services.

The proxy validates the legacy session and sends `X-Ficus-Identity: v1.<payload>.<mac>` to the
extracted services, where payload is base64url(JSON) and mac is base64url(HMAC-SHA256(key,
"v1." + payload)). Services trust nothing else. The request id ties the service's access audit
to the proxy's log.

A token is good for one request only, not a bearer token: it carries a digest of the request
it was minted for (`Binding`: method, percent-decoded path, raw query) and that request's id,
which the proxy also sends as `X-Ficus-Request-Id`; the verifier recomputes both from the
request it arrived on. Its lifetime is capped where it is checked: a token issued more than
`CLOCK_SKEW_SECONDS` in the future, or living longer than `MAX_LIFETIME_SECONDS`, is refused
whatever its signature (a leaked key's 10-year token, a bug in the minting side).

Pure: standard library only, so the proxy and every service share exactly one implementation.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import unquote

IDENTITY_HEADER = "X-Ficus-Identity"
# The proxy names each request with it, and the services log and answer with the same id.
REQUEST_ID_HEADER = "X-Ficus-Request-Id"
VERSION = "v1"
# Long enough to cover one request's life (and a shadow copy's deadline, proxy/shadow.py).
DEFAULT_TTL_SECONDS = 60
# The longest lifetime a verifier accepts: no signer of Ficus's ever mints a longer one.
MAX_LIFETIME_SECONDS = DEFAULT_TTL_SECONDS
# How far the proxy's clock may run ahead of a service's.
CLOCK_SKEW_SECONDS = 5
MIN_KEY_BYTES = 32


class InvalidIdentityError(ValueError):
    """The header is missing, malformed, forged or expired. The message says which, for logs."""


@dataclass(frozen=True, slots=True)
class Identity:
    user_id: int
    login: str
    role: str
    expires_at: int
    request_id: str


@dataclass(frozen=True, slots=True)
class Binding:
    """The request a token is for: method, percent-decoded path and raw query ('' if none).

    The proxy builds it from the target it forwards (`binding_for_target`), a service from the
    request it received (`extracted.core.identity.request_binding`): the same three values.
    """

    method: str
    path: str
    query: str

    def digest(self) -> str:
        # JSON, so no path or query can be made to read as another split of the same text.
        text = json.dumps([self.method, self.path, self.query], separators=(",", ":"))
        return _b64encode(hashlib.sha256(text.encode("utf-8", "replace")).digest())


def binding_for_target(method: str, target: bytes) -> Binding:
    """The binding of a request the proxy sends as `method target` (origin form)."""
    path, _, query = target.partition(b"?")
    # The canonical path is ASCII; its escapes decode as UTF-8, as Django decodes PATH_INFO.
    return Binding(method, unquote(path.decode("ascii")), query.decode("latin-1"))


def legacy_cookie(cookie_headers: Iterable[str], name: str) -> str | None:
    """The value of cookie `name` as the legacy app reads it from these Cookie header values.

    The legacy app (demo/legacy/http.py `parse_cookies`, behind gunicorn) sees repeated Cookie
    headers joined with ",", splits on ";", strips each part, splits it at its first "=", keeps
    the first part of each name, and strips blanks then quotes from its value. So two SESSID
    cookies are the first one, and `SESSID= abc ` is `abc`: the proxy must admit whom legacy
    admits, and read the same session. Header values are latin-1, as gunicorn decodes them.
    None if there is no such cookie (an empty value is "", which no session has).
    """
    for part in ",".join(cookie_headers).split(";"):
        key, sep, value = part.strip().partition("=")
        if sep and key == name:
            return value.strip().strip('"')
    return None


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def check_key(key: bytes) -> bytes:
    """Refuse keys too short to resist guessing; callers turn this into a configuration error."""
    if len(key) < MIN_KEY_BYTES:
        raise ValueError(f"the identity key must be at least {MIN_KEY_BYTES} bytes")
    return key


def _mac(key: bytes, signed_part: str) -> str:
    return _b64encode(hmac.new(key, signed_part.encode("ascii"), hashlib.sha256).digest())


def _check_lifetime(issued_at: int, expires_at: int, now: float) -> str | None:
    """Why a token's times are unacceptable at `now`, or None. One rule for both tokens."""
    if issued_at > now + CLOCK_SKEW_SECONDS:
        return "is issued in the future"
    if expires_at - issued_at > MAX_LIFETIME_SECONDS:
        return "lives longer than any token the proxy mints"
    if expires_at <= now:
        return "has expired"
    return None


def sign_identity(identity: Identity, key: bytes, *, binding: Binding, issued_at: int) -> str:
    """The token for `identity` on the one request `binding` (with id identity.request_id)."""
    payload = {
        "sub": identity.user_id,
        "login": identity.login,
        "role": identity.role,
        "exp": identity.expires_at,
        "iat": issued_at,
        "rid": identity.request_id,
        "req": binding.digest(),
    }
    body = _b64encode(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
    signed_part = f"{VERSION}.{body}"
    return f"{signed_part}.{_mac(key, signed_part)}"


def verify_identity(
    header: str | None, key: bytes, now: float, *, binding: Binding, request_id: str
) -> Identity:
    """The identity in `header`, if it was signed for this very request; else the reason."""
    if not header:
        raise InvalidIdentityError("no identity header")
    parts = header.split(".")
    # A token is base64url and dots: anything else (latin-1 text, as WSGI hands header values
    # over) is malformed, and must not reach the MAC, which signs ASCII.
    if len(parts) != 3 or parts[0] != VERSION or not header.isascii():
        raise InvalidIdentityError("malformed identity header")
    signed_part = f"{parts[0]}.{parts[1]}"
    if not hmac.compare_digest(_mac(key, signed_part), parts[2]):
        raise InvalidIdentityError("identity signature does not match")
    try:
        payload = json.loads(_b64decode(parts[1]))
        identity = Identity(
            user_id=int(payload["sub"]),
            login=str(payload["login"]),
            role=str(payload["role"]),
            expires_at=int(payload["exp"]),
            request_id=str(payload["rid"]),
        )
        issued_at = int(payload["iat"])
        bound_to = str(payload["req"])
    except (binascii.Error, ValueError, KeyError, TypeError) as e:
        raise InvalidIdentityError("identity payload is unreadable") from e
    if (problem := _check_lifetime(issued_at, identity.expires_at, now)) is not None:
        raise InvalidIdentityError(f"identity {problem}")
    if not _same(identity.request_id, request_id) or not _same(bound_to, binding.digest()):
        raise InvalidIdentityError("identity belongs to another request")
    return identity


def _same(a: str, b: str) -> bool:
    """Constant-time equality of two claims (a rid or a digest), whatever characters they hold."""
    return hmac.compare_digest(a.encode("utf-8", "replace"), b.encode("utf-8", "replace"))


# --- Dry-run tokens (contract C4) --------------------------------------------------------------
# `X-Ficus-Dry-Run: v1.<b64url json {"rid", "exp", "iat", "req"}>.<b64url hmac>`: the proxy's
# promise that this request is a shadow copy whose effects must be rolled back. Same key,
# framing, binding and lifetime cap as the identity token, but the MAC covers a distinct label,
# so an identity token can never be replayed as a dry-run token, nor the other way round.
DRY_RUN_HEADER = "X-Ficus-Dry-Run"
_DRY_RUN_LABEL = "ficus-dry-run."


class InvalidDryRunError(ValueError):
    """The dry-run header is malformed, forged, expired or for another request (message: which)."""


@dataclass(frozen=True, slots=True)
class DryRun:
    request_id: str
    expires_at: int


def sign_dry_run(dry_run: DryRun, key: bytes, *, binding: Binding, issued_at: int) -> str:
    payload = {
        "rid": dry_run.request_id,
        "exp": dry_run.expires_at,
        "iat": issued_at,
        "req": binding.digest(),
    }
    body = _b64encode(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
    signed_part = f"{VERSION}.{body}"
    return f"{signed_part}.{_mac(key, _DRY_RUN_LABEL + signed_part)}"


def verify_dry_run(
    header: str, key: bytes, now: float, *, request_id: str, binding: Binding
) -> DryRun:
    """The verified token; its rid must be `request_id` (the verified identity's rid), and it
    must have been signed for this request (`binding`)."""
    parts = header.split(".")
    if len(parts) != 3 or parts[0] != VERSION or not header.isascii():
        raise InvalidDryRunError("malformed dry-run header")
    signed_part = f"{parts[0]}.{parts[1]}"
    if not hmac.compare_digest(_mac(key, _DRY_RUN_LABEL + signed_part), parts[2]):
        raise InvalidDryRunError("dry-run signature does not match")
    try:
        payload = json.loads(_b64decode(parts[1]))
        dry_run = DryRun(request_id=str(payload["rid"]), expires_at=int(payload["exp"]))
        issued_at = int(payload["iat"])
        bound_to = str(payload["req"])
    except (binascii.Error, ValueError, KeyError, TypeError) as e:
        raise InvalidDryRunError("dry-run payload is unreadable") from e
    if (problem := _check_lifetime(issued_at, dry_run.expires_at, now)) is not None:
        raise InvalidDryRunError(f"dry-run token {problem}")
    if not _same(dry_run.request_id, request_id) or not _same(bound_to, binding.digest()):
        raise InvalidDryRunError("dry-run token belongs to another request")
    return dry_run
