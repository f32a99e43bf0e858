"""The one reading of a request's legacy credential, per kind, from raw header fields."""

from __future__ import annotations

import base64

from domain.legacy_session import CredentialKind, LegacySessionSettings
from proxy.legacy_credentials import read_credential

SECRET = b"s" * 32
COOKIE = LegacySessionSettings()
HEADER = LegacySessionSettings(CredentialKind.HEADER, "X-Legacy-Session")
TRYTOND = LegacySessionSettings(CredentialKind.TRYTOND_SESSION)
BASIC = LegacySessionSettings(CredentialKind.BASIC)


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_the_demo_default_reads_the_first_sessid_as_legacy_does():
    fields = [(b"Cookie", b"theme=dark; SESSID= abc ; SESSID=other")]
    credential = read_credential(COOKIE, fields, SECRET)
    assert credential is not None
    assert (credential.key, credential.token) == ("abc", "abc")
    assert credential.forward == (b"Cookie", b"SESSID=abc")
    assert read_credential(COOKIE, [(b"Cookie", b"SESSID=")], SECRET) is None
    assert read_credential(COOKIE, [], SECRET) is None


def test_a_named_header_must_say_one_thing():
    one = read_credential(HEADER, [(b"x-legacy-session", b"t1")], SECRET)
    assert one is not None
    assert one.key == "t1"
    same_twice = [(b"X-Legacy-Session", b"t1"), (b"X-Legacy-Session", b"t1")]
    again = read_credential(HEADER, same_twice, SECRET)
    assert again is not None
    assert again.key == "t1"
    two = [(b"X-Legacy-Session", b"t1"), (b"X-Legacy-Session", b"t2")]
    assert read_credential(HEADER, two, SECRET) is None


def test_trytonds_session_is_keyed_by_user_and_session_not_the_claimed_login():
    one = read_credential(
        TRYTOND, [(b"Authorization", f"Session {b64('a:7:tok')}".encode())], SECRET
    )
    other = read_credential(
        TRYTOND, [(b"Authorization", f"Session {b64('b:7:tok')}".encode())], SECRET
    )
    assert one is not None
    assert other is not None
    assert one.key == other.key == "7:tok"
    assert one.forward == (b"Authorization", f"Session {b64('a:7:tok')}".encode())


def test_basic_is_held_only_as_a_keyed_hash():
    header = f"Basic {b64('clinician:s3cret')}"
    credential = read_credential(BASIC, [(b"Authorization", header.encode())], SECRET)
    assert credential is not None
    assert "s3cret" not in credential.key
    assert b64("clinician:s3cret") not in credential.key
    assert credential.token == ""
    assert "s3cret" not in repr(credential)
    assert b64("clinician:s3cret") not in repr(credential)
    again = read_credential(BASIC, [(b"authorization", header.encode())], SECRET)
    assert again is not None
    assert again.key == credential.key
