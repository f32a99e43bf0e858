"""The identity bridge token: what the proxy signs is what the services accept, and nothing else:
for the one request it was minted for, and for no longer than the proxy ever mints."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from demo.legacy.http import parse_cookies
from domain.identity import (
    MAX_LIFETIME_SECONDS,
    Binding,
    Identity,
    InvalidIdentityError,
    binding_for_target,
    check_key,
    legacy_cookie,
    sign_identity,
    verify_identity,
)

KEY = b"k" * 32
NOW = 1_800_000_000
CLINICIAN = Identity(
    user_id=1, login="clinician", role="CLIN", expires_at=NOW + 60, request_id="r1"
)
CANCEL = Binding("POST", "/api/appointments/7/cancel", "")


def sign(identity: Identity = CLINICIAN, key: bytes = KEY, **kwargs: object) -> str:
    options = {"binding": CANCEL, "issued_at": NOW, **kwargs}
    return sign_identity(identity, key, **options)  # type: ignore[arg-type]


def verify(token: str | None, *, now: float = NOW, **kwargs: object) -> Identity:
    options = {"binding": CANCEL, "request_id": "r1", **kwargs}
    return verify_identity(token, KEY, now, **options)  # type: ignore[arg-type]


def test_a_signed_clinician_identity_round_trips() -> None:
    assert verify(sign()) == CLINICIAN


@pytest.mark.parametrize(
    ("binding", "request_id"),
    [
        (CANCEL, "r2"),
        (Binding("GET", "/api/appointments/7/cancel", ""), "r1"),
        (Binding("POST", "/api/appointments/8/cancel", ""), "r1"),
        (Binding("POST", "/api/appointments/7/cancel", "x=1"), "r1"),
        # The split of path and query is part of what is signed.
        (Binding("POST", "/api/appointments/7/cancel?", ""), "r1"),
    ],
    ids=["other-request-id", "other-method", "other-path", "other-query", "query-moved"],
)
def test_a_token_replayed_on_another_request_is_refused(binding: Binding, request_id: str) -> None:
    with pytest.raises(InvalidIdentityError, match="another request"):
        verify(sign(), binding=binding, request_id=request_id)


def test_the_proxy_and_a_service_bind_the_same_request_alike() -> None:
    # The proxy forwards the canonical target; a service sees the decoded path and raw query.
    sent = binding_for_target("GET", b"/api/caf%C3%A9/7?q=a%20b&x")
    assert sent == Binding("GET", "/api/caf\u00e9/7", "q=a%20b&x")
    assert binding_for_target("GET", b"/api/x") == Binding("GET", "/api/x", "")


@pytest.mark.parametrize(
    ("issued_at", "expires_at", "reason"),
    [
        (NOW, NOW + 10 * 365 * 86400, "lives longer"),
        (NOW - 10, NOW + MAX_LIFETIME_SECONDS, "lives longer"),
        (NOW + 3600, NOW + 3600 + 30, "issued in the future"),
    ],
    ids=["ten-years", "one-second-too-long", "from-the-future"],
)
def test_a_token_living_longer_than_the_proxy_mints_is_refused(
    issued_at: int, expires_at: int, reason: str
) -> None:
    identity = Identity(1, "clinician", "CLIN", expires_at, "r1")
    with pytest.raises(InvalidIdentityError, match=reason):
        verify(sign(identity, issued_at=issued_at))


def test_an_outsider_without_a_header_is_refused() -> None:
    with pytest.raises(InvalidIdentityError, match="no identity header"):
        verify(None)


def test_an_outsider_signing_with_another_key_is_refused() -> None:
    forged = sign(key=b"x" * 32)
    with pytest.raises(InvalidIdentityError, match="signature"):
        verify(forged)


def test_an_outsider_who_raises_their_role_breaks_the_signature() -> None:
    version, payload, mac = sign().split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["role"] = "ADMIN"
    tampered = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    with pytest.raises(InvalidIdentityError, match="signature"):
        verify(f"{version}.{tampered}.{mac}")


def test_an_expired_identity_is_refused() -> None:
    with pytest.raises(InvalidIdentityError, match="expired"):
        verify(sign(), now=CLINICIAN.expires_at)


@pytest.mark.parametrize("header", ["", "v1.only-two", "v2.a.b", "v1.a.b.c", "garbage"])
def test_malformed_headers_are_refused(header: str) -> None:
    with pytest.raises(InvalidIdentityError):
        verify(header)


def test_a_correctly_signed_but_unreadable_payload_is_refused() -> None:
    body = base64.urlsafe_b64encode(b'{"sub": "not-a-number"}').rstrip(b"=").decode()
    mac = hmac.new(KEY, f"v1.{body}".encode(), hashlib.sha256).digest()
    token = f"v1.{body}." + base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
    with pytest.raises(InvalidIdentityError, match="unreadable"):
        verify(token)


def test_short_keys_are_rejected() -> None:
    with pytest.raises(ValueError, match="at least 32 bytes"):
        check_key(b"short")
    assert check_key(KEY) == KEY


# What a browser, a proxy or an attacker may put in Cookie headers, blanks and quotes included.
_COOKIE_TEXT = st.text(alphabet=st.sampled_from(list('SESID=; ,"ab\t\xa0x')), max_size=30)


@given(st.lists(_COOKIE_TEXT, max_size=3))
def test_the_session_cookie_is_read_exactly_as_the_legacy_app_reads_it(headers: list[str]) -> None:
    # demo/legacy/http.py behind gunicorn, which joins repeated Cookie headers with ",".
    expected = parse_cookies(",".join(headers)).get("SESSID")
    assert legacy_cookie(headers, "SESSID") == expected


@pytest.mark.parametrize(
    ("headers", "session_id"),
    [
        (["SESSID=a; SESSID=b"], "a"),
        (["SESSID= a "], "a"),
        (['theme=dark;SESSID="a"'], "a"),
        (["SESSID=a", "SESSID=b"], "a,SESSID=b"),
        (["SESSID="], ""),
        (["SESSIDX=a", "other=1"], None),
    ],
)
def test_odd_cookie_forms_read_as_legacy_reads_them(
    headers: list[str], session_id: str | None
) -> None:
    assert legacy_cookie(headers, "SESSID") == session_id
