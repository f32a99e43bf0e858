"""Fuzzing the identity and dry-run tokens: whatever arrives in the header, a service gets an
identity signed for this very request or the one refusal error, never another exception (which
would be a 500 instead of a 401); a token survives its round trip, and any change to it, or to
the request it is presented on, is refused.

Bounded in `make test` (the `ci` Hypothesis profile), long in `make fuzz`. Header values are
latin-1 text, as a WSGI server hands them to Django, so non-ASCII characters are in scope.
"""

from __future__ import annotations

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from domain.identity import (
    Binding,
    DryRun,
    Identity,
    InvalidDryRunError,
    InvalidIdentityError,
    sign_dry_run,
    sign_identity,
    verify_dry_run,
    verify_identity,
)

pytestmark = pytest.mark.fuzz

KEY = b"k" * 32
NOW = 1_800_000_000
latin1 = st.text(alphabet=st.characters(max_codepoint=0xFF), max_size=80)
token_like = st.lists(st.sampled_from(["v1", ".", "eyJ", "A", "-", "_", "=", "é", "\x00"]) | latin1,
                      max_size=6).map("".join)  # fmt: skip
bindings = st.builds(
    Binding,
    method=st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]),
    path=st.text(max_size=30).map(lambda p: "/" + p),
    query=st.text(max_size=20),
)
identities = st.builds(
    Identity,
    user_id=st.integers(min_value=1, max_value=2**31),
    login=st.text(max_size=20),
    role=st.sampled_from(["CLIN", "SCHED", "BILL", "ADMIN", "OPER", "AUDIT"]),
    expires_at=st.just(NOW + 60),
    request_id=st.text(min_size=1, max_size=40),
)
ANY_BINDING = Binding("GET", "/api/appointments/7", "")


@given(header=token_like | latin1)
@example(header="v1.é.é")  # a non-ASCII MAC: compare_digest refuses to compare such text
@example(header="v1.\u00ff.AAAA")  # a non-ASCII payload: the MAC's input must be bytes
@example(header="v1..")
def test_any_identity_header_is_an_identity_or_the_refusal(header: str) -> None:
    with pytest.raises(InvalidIdentityError):
        verify_identity(header, KEY, NOW, binding=ANY_BINDING, request_id="rid-1")


@given(header=token_like | latin1)
@example(header="v1.é.é")
def test_any_dry_run_header_is_a_dry_run_or_the_refusal(header: str) -> None:
    with pytest.raises(InvalidDryRunError):
        verify_dry_run(header, KEY, NOW, request_id="rid-1", binding=ANY_BINDING)


@given(identity=identities, binding=bindings)
def test_a_token_is_good_for_the_request_it_was_signed_for(identity: Identity, binding: Binding):
    token = sign_identity(identity, KEY, binding=binding, issued_at=NOW)
    verified = verify_identity(token, KEY, NOW, binding=binding, request_id=identity.request_id)
    assert verified == identity


@given(identity=identities, binding=bindings, data=st.data())
def test_any_change_to_a_token_is_refused(identity: Identity, binding: Binding, data):
    token = sign_identity(identity, KEY, binding=binding, issued_at=NOW)
    at = data.draw(st.integers(min_value=0, max_value=len(token) - 1))
    replacement = data.draw(st.characters(max_codepoint=0xFF))
    changed = token[:at] + replacement + token[at + 1 :]
    assume(changed != token)
    with pytest.raises(InvalidIdentityError):
        verify_identity(changed, KEY, NOW, binding=binding, request_id=identity.request_id)


@given(identity=identities, signed_for=bindings, presented_on=bindings)
def test_a_token_is_refused_on_any_other_request(
    identity: Identity, signed_for: Binding, presented_on: Binding
) -> None:
    assume(signed_for != presented_on)
    token = sign_identity(identity, KEY, binding=signed_for, issued_at=NOW)
    with pytest.raises(InvalidIdentityError, match="another request"):
        verify_identity(token, KEY, NOW, binding=presented_on, request_id=identity.request_id)


@given(binding=bindings, request_id=st.text(min_size=1, max_size=40), data=st.data())
def test_a_dry_run_token_round_trips_and_resists_change(binding: Binding, request_id: str, data):
    token = sign_dry_run(DryRun(request_id, NOW + 10), KEY, binding=binding, issued_at=NOW)
    assert verify_dry_run(token, KEY, NOW, request_id=request_id, binding=binding) == DryRun(
        request_id, NOW + 10
    )
    at = data.draw(st.integers(min_value=0, max_value=len(token) - 1))
    changed = token[:at] + data.draw(st.characters(max_codepoint=0xFF)) + token[at + 1 :]
    assume(changed != token)
    with pytest.raises(InvalidDryRunError):
        verify_dry_run(changed, KEY, NOW, request_id=request_id, binding=binding)
