"""The dry-run token (contract C4): signed for one request id, short-lived, not an identity."""

from __future__ import annotations

import pytest

from proxy.identity import (
    DryRun,
    Identity,
    InvalidDryRunError,
    sign_dry_run,
    sign_identity,
    verify_dry_run,
)

KEY = b"k" * 32
NOW = 1_800_000_000


def test_a_signed_token_round_trips_for_its_request():
    token = sign_dry_run(DryRun(request_id="rid-1", expires_at=NOW + 30), KEY)

    assert verify_dry_run(token, KEY, NOW, request_id="rid-1") == DryRun("rid-1", NOW + 30)


@pytest.mark.parametrize(
    ("token_rid", "expires_at", "key", "asked_rid", "reason"),
    [
        ("rid-1", NOW + 30, b"x" * 32, "rid-1", "signature"),
        ("rid-1", NOW, KEY, "rid-1", "expired"),
        ("rid-1", NOW + 30, KEY, "rid-2", "another request"),
    ],
    ids=["forged", "expired", "rid-mismatch"],
)
def test_an_outsider_token_is_refused_with_the_reason(
    token_rid, expires_at, key, asked_rid, reason
):
    token = sign_dry_run(DryRun(request_id=token_rid, expires_at=expires_at), key)

    with pytest.raises(InvalidDryRunError, match=reason):
        verify_dry_run(token, KEY, NOW, request_id=asked_rid)


@pytest.mark.parametrize("token", ["", "v1", "v1.a.b.c", "v2.abc.def", "v1.!!.mac"])
def test_malformed_tokens_are_refused(token):
    with pytest.raises(InvalidDryRunError):
        verify_dry_run(token, KEY, NOW, request_id="rid-1")


def test_an_identity_token_cannot_be_replayed_as_a_dry_run_token():
    # Both carry rid and exp and share the key; the MAC's label keeps them apart.
    identity = sign_identity(Identity(1, "clinician", "CLIN", NOW + 30, "rid-1"), KEY)

    with pytest.raises(InvalidDryRunError, match="signature"):
        verify_dry_run(identity, KEY, NOW, request_id="rid-1")
