"""The identity bridge's token: who the clinician is, signed by the proxy for the services.

The proxy validates the legacy session and sends `X-Ficus-Identity: v1.<payload>.<mac>` to the
extracted services, where payload is base64url(JSON) and mac is base64url(HMAC-SHA256(key,
"v1." + payload)). Services trust nothing else. The expiry is short (the session can end at any
moment in the legacy app), and the request id ties the service's access audit to the proxy's log.

Pure: standard library only, so the proxy and every service share exactly one implementation.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass

IDENTITY_HEADER = "X-Ficus-Identity"
VERSION = "v1"
# Long enough to cover one request's life, short enough that a logged-out session stops working.
DEFAULT_TTL_SECONDS = 60
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


def sign_identity(identity: Identity, key: bytes) -> str:
    payload = {
        "sub": identity.user_id,
        "login": identity.login,
        "role": identity.role,
        "exp": identity.expires_at,
        "rid": identity.request_id,
    }
    body = _b64encode(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
    signed_part = f"{VERSION}.{body}"
    return f"{signed_part}.{_mac(key, signed_part)}"


def verify_identity(header: str | None, key: bytes, now: float) -> Identity:
    if not header:
        raise InvalidIdentityError("no identity header")
    parts = header.split(".")
    if len(parts) != 3 or parts[0] != VERSION:
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
    except (binascii.Error, ValueError, KeyError, TypeError) as e:
        raise InvalidIdentityError("identity payload is unreadable") from e
    if identity.expires_at <= now:
        raise InvalidIdentityError("identity has expired")
    return identity


# --- Dry-run tokens (contract C4) --------------------------------------------------------------
# `X-Ficus-Dry-Run: v1.<b64url json {"rid", "exp"}>.<b64url hmac>`: the proxy's promise that this
# request is a shadow copy whose effects must be rolled back. Same key and framing as the identity
# token, but the MAC covers a distinct label, so an identity token (which also carries rid and
# exp) can never be replayed as a dry-run token, nor the other way round.
DRY_RUN_HEADER = "X-Ficus-Dry-Run"
_DRY_RUN_LABEL = "ficus-dry-run."


class InvalidDryRunError(ValueError):
    """The dry-run header is malformed, forged, expired or for another request (message: which)."""


@dataclass(frozen=True, slots=True)
class DryRun:
    request_id: str
    expires_at: int


def sign_dry_run(dry_run: DryRun, key: bytes) -> str:
    payload = {"rid": dry_run.request_id, "exp": dry_run.expires_at}
    body = _b64encode(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
    signed_part = f"{VERSION}.{body}"
    return f"{signed_part}.{_mac(key, _DRY_RUN_LABEL + signed_part)}"


def verify_dry_run(header: str, key: bytes, now: float, *, request_id: str) -> DryRun:
    """The verified token; its rid must be `request_id` (the verified identity's rid)."""
    parts = header.split(".")
    if len(parts) != 3 or parts[0] != VERSION:
        raise InvalidDryRunError("malformed dry-run header")
    signed_part = f"{parts[0]}.{parts[1]}"
    if not hmac.compare_digest(_mac(key, _DRY_RUN_LABEL + signed_part), parts[2]):
        raise InvalidDryRunError("dry-run signature does not match")
    try:
        payload = json.loads(_b64decode(parts[1]))
        dry_run = DryRun(request_id=str(payload["rid"]), expires_at=int(payload["exp"]))
    except (binascii.Error, ValueError, KeyError, TypeError) as e:
        raise InvalidDryRunError("dry-run payload is unreadable") from e
    if dry_run.expires_at <= now:
        raise InvalidDryRunError("dry-run token has expired")
    if not hmac.compare_digest(dry_run.request_id.encode(), request_id.encode()):
        raise InvalidDryRunError("dry-run token belongs to another request")
    return dry_run
