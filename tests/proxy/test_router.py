"""The router's cohort lookup: the session cohort is the one session key the sanitizer read,
under the cookie that carries the legacy session, whichever cookie the plans name."""

from __future__ import annotations

from mitmproxy.test import tutils

from domain.legacy_session import CredentialKind, LegacySessionSettings
from proxy.router import cohort_lookup, session_cookie
from proxy.runtime import Runtime


def request_with(cookie: str):
    return tutils.treq(headers=((b"cookie", cookie.encode()), (b"x-ward", b"4B")))


def test_a_cohort_keyed_by_the_legacy_session_cookie_is_the_session_key():
    lookup = cohort_lookup(request_with("JSESSIONID=abc; other=1"), "key-of-abc", "JSESSIONID")
    assert lookup("cookie", "JSESSIONID") == "key-of-abc"
    assert lookup("session", "") == "key-of-abc"
    assert lookup("cookie", "other") == "1"
    assert lookup("header", "x-ward") == "4B"


def test_without_a_session_cookie_a_cookie_cohort_is_read_as_sent():
    lookup = cohort_lookup(request_with("SESSID=raw"), "key", None)
    assert lookup("cookie", "SESSID") == "raw"


def test_the_session_cookie_follows_the_plans_legacy_session():
    runtime = Runtime()
    assert session_cookie(runtime) == "SESSID"  # the default: the demo's cookie
    runtime.identities.use(LegacySessionSettings(CredentialKind.COOKIE, "JSESSIONID"))
    assert session_cookie(runtime) == "JSESSIONID"
    runtime.identities.use(LegacySessionSettings(CredentialKind.TRYTOND_SESSION, "Authorization"))
    assert session_cookie(runtime) is None
