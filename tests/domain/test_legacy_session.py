"""The legacy credential grammar: trytond's session header, HTTP Basic, the keyed session key,
and the mapping of a who-am-I answer (pure, no server)."""

from __future__ import annotations

import base64

import pytest

from domain.legacy_session import (
    CredentialKind,
    Resolved,
    WhoAmI,
    basic_credentials,
    keyed_session_key,
    map_answer,
    trytond_session,
)


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_trytonds_session_header_is_read_as_trytond_reads_it():
    assert trytond_session(f"Session {b64('clinician:7:abc123')}") == ("clinician", 7, "abc123")
    assert trytond_session(f"session {b64('clinician:7:abc123')}") == ("clinician", 7, "abc123")


@pytest.mark.parametrize(
    "value",
    [
        f"Session {b64('clinician:seven:abc')}",  # the user id is an integer
        f"Session {b64('clinician:7')}",  # three parts
        f"Session {b64('clinician:7:abc:extra')}",
        "Session !!!",
        f"Basic {b64('clinician:pw')}",
        "",
    ],
)
def test_an_outsiders_malformed_session_header_is_no_session(value):
    assert trytond_session(value) is None


def test_basic_credentials_are_decoded_and_refused_when_malformed():
    assert basic_credentials(f"Basic {b64('clinician:s3cret:x')}") == "clinician:s3cret:x"
    assert basic_credentials(f"Basic {b64('no-colon')}") is None
    assert basic_credentials("Basic %%%") is None
    assert basic_credentials(f"Session {b64('a:1:b')}") is None


def test_the_keyed_session_key_is_stable_opaque_and_secret_bound():
    secret = b"k" * 32
    key = keyed_session_key(secret, CredentialKind.BASIC, "clinician:s3cret")
    assert key == keyed_session_key(secret, CredentialKind.BASIC, "clinician:s3cret")
    assert "s3cret" not in key
    assert "clinician" not in key
    assert key != keyed_session_key(b"o" * 32, CredentialKind.BASIC, "clinician:s3cret")
    assert key != keyed_session_key(secret, CredentialKind.BASIC, "clinician:other")


def test_a_whoami_answer_is_mapped_by_dotted_paths():
    whoami = WhoAmI("/whoami", user_id="result.id", login="result.login", role="result.role")
    answer = {"result": {"id": "12", "login": "clinician", "role": "CLIN"}}
    assert map_answer(whoami, answer) == Resolved(12, "clinician", "CLIN")


@pytest.mark.parametrize(
    "answer",
    [
        {"result": {"login": "clinician", "role": "CLIN"}},
        {"result": {"id": True, "login": "clinician", "role": "CLIN"}},
        {"result": {"id": "x", "login": "clinician", "role": "CLIN"}},
        {"result": {"id": 1, "login": "", "role": "CLIN"}},
        {"result": {"id": 1, "login": "clinician", "role": ["CLIN", "OPER"]}},
        {"error": "not logged in"},
        ["result"],
        None,
    ],
)
def test_an_answer_naming_no_user_proves_no_session(answer):
    whoami = WhoAmI("/whoami", user_id="result.id", login="result.login", role="result.role")
    assert map_answer(whoami, answer) is None
