"""The identity bridge token: what the proxy signs is what the services accept, and nothing else."""

from __future__ import annotations

import base64
import json

import pytest

from proxy.identity import (
    Identity,
    InvalidIdentityError,
    check_key,
    sign_identity,
    verify_identity,
)

KEY = b"k" * 32
NOW = 1_800_000_000
CLINICIAN = Identity(
    user_id=1, login="clinician", role="CLIN", expires_at=NOW + 60, request_id="r1"
)


def test_a_signed_clinician_identity_round_trips() -> None:
    assert verify_identity(sign_identity(CLINICIAN, KEY), KEY, now=NOW) == CLINICIAN


def test_an_outsider_without_a_header_is_refused() -> None:
    with pytest.raises(InvalidIdentityError, match="no identity header"):
        verify_identity(None, KEY, now=NOW)


def test_an_outsider_signing_with_another_key_is_refused() -> None:
    forged = sign_identity(CLINICIAN, b"x" * 32)
    with pytest.raises(InvalidIdentityError, match="signature"):
        verify_identity(forged, KEY, now=NOW)


def test_an_outsider_who_raises_their_role_breaks_the_signature() -> None:
    version, payload, mac = sign_identity(CLINICIAN, KEY).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["role"] = "ADMIN"
    tampered = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    with pytest.raises(InvalidIdentityError, match="signature"):
        verify_identity(f"{version}.{tampered}.{mac}", KEY, now=NOW)


def test_an_expired_identity_is_refused() -> None:
    token = sign_identity(CLINICIAN, KEY)
    with pytest.raises(InvalidIdentityError, match="expired"):
        verify_identity(token, KEY, now=CLINICIAN.expires_at)


@pytest.mark.parametrize("header", ["", "v1.only-two", "v2.a.b", "v1.a.b.c", "garbage"])
def test_malformed_headers_are_refused(header: str) -> None:
    with pytest.raises(InvalidIdentityError):
        verify_identity(header, KEY, now=NOW)


def test_a_correctly_signed_but_unreadable_payload_is_refused() -> None:
    import hashlib
    import hmac

    body = base64.urlsafe_b64encode(b'{"sub": "not-a-number"}').rstrip(b"=").decode()
    mac = hmac.new(KEY, f"v1.{body}".encode(), hashlib.sha256).digest()
    token = f"v1.{body}." + base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
    with pytest.raises(InvalidIdentityError, match="unreadable"):
        verify_identity(token, KEY, now=NOW)


def test_short_keys_are_rejected() -> None:
    with pytest.raises(ValueError, match="at least 32 bytes"):
        check_key(b"short")
    assert check_key(KEY) == KEY
