"""The dry-run token (contract C4): signed for one request, short-lived, not an identity."""

from __future__ import annotations

import pytest

from domain.identity import (
    Binding,
    DryRun,
    Identity,
    InvalidDryRunError,
    sign_dry_run,
    sign_identity,
    verify_dry_run,
)

KEY = b"k" * 32
NOW = 1_800_000_000
PUT = Binding("PUT", "/api/patients/4", "")


def token_for(
    request_id: str = "rid-1",
    expires_at: int = NOW + 30,
    key: bytes = KEY,
    binding: Binding = PUT,
    issued_at: int = NOW,
) -> str:
    return sign_dry_run(DryRun(request_id, expires_at), key, binding=binding, issued_at=issued_at)


def test_a_signed_token_round_trips_for_its_request():
    verified = verify_dry_run(token_for(), KEY, NOW, request_id="rid-1", binding=PUT)

    assert verified == DryRun("rid-1", NOW + 30)


@pytest.mark.parametrize(
    ("token", "asked_rid", "asked_binding", "reason"),
    [
        (token_for(key=b"x" * 32), "rid-1", PUT, "signature"),
        (token_for(expires_at=NOW), "rid-1", PUT, "expired"),
        (token_for(), "rid-2", PUT, "another request"),
        (token_for(), "rid-1", Binding("PUT", "/api/patients/5", ""), "another request"),
        (token_for(), "rid-1", Binding("POST", "/api/patients/4", ""), "another request"),
        (token_for(expires_at=NOW + 10 * 365 * 86400), "rid-1", PUT, "lives longer"),
    ],
    ids=["forged", "expired", "rid-mismatch", "other-path", "other-method", "ten-years"],
)
def test_an_outsider_token_is_refused_with_the_reason(token, asked_rid, asked_binding, reason):
    with pytest.raises(InvalidDryRunError, match=reason):
        verify_dry_run(token, KEY, NOW, request_id=asked_rid, binding=asked_binding)


@pytest.mark.parametrize("token", ["", "v1", "v1.a.b.c", "v2.abc.def", "v1.!!.mac"])
def test_malformed_tokens_are_refused(token):
    with pytest.raises(InvalidDryRunError):
        verify_dry_run(token, KEY, NOW, request_id="rid-1", binding=PUT)


def test_an_identity_token_cannot_be_replayed_as_a_dry_run_token():
    # Both carry rid and exp and share the key; the MAC's label keeps them apart.
    identity = Identity(1, "clinician", "CLIN", NOW + 30, "rid-1")
    token = sign_identity(identity, KEY, binding=PUT, issued_at=NOW)

    with pytest.raises(InvalidDryRunError, match="signature"):
        verify_dry_run(token, KEY, NOW, request_id="rid-1", binding=PUT)
