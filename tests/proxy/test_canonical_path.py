"""Path canonicalization: one spelling per path, and a reason for every refusal."""

from __future__ import annotations

import pytest

from proxy.canonical_path import PathError, canonicalize_path, split_target


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("/", "/"),
        ("/api/appointments/7", "/api/appointments/7"),
        ("/api/appointments/%37", "/api/appointments/7"),
        ("/api/%61ppointments", "/api/appointments"),
        ("/static/", "/static/"),
        ("/a%20b", "/a%20b"),
        ("/a b".replace(" ", "%20"), "/a%20b"),
        ("/caf%c3%a9", "/caf%C3%A9"),
        ("/café", "/caf%C3%A9"),
        ("/a%3Bb", "/a%3Bb"),  # an encoded ';' is data, not a path parameter
        ("/a%25b", "/a%25b"),  # an encoded '%' stays encoded: no double decoding downstream
        ("/a%2561", "/a%2561"),
        ("/x:y@z!$&'()*+,=-._~", "/x:y@z!$&'()*+,=-._~"),
        ("/%7Euser", "/~user"),
    ],
)
def test_it_returns_one_canonical_spelling(raw, canonical):
    assert canonicalize_path(raw) == canonical
    assert canonicalize_path(canonical) == canonical  # canonical paths are fixed points


def test_it_accepts_bytes_as_received():
    assert canonicalize_path(b"/api/appointments/%37") == "/api/appointments/7"
    assert canonicalize_path(b"/caf\xc3\xa9") == "/caf%C3%A9"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("/api/appointments%2F7", "encoded slashes"),
        ("/api/appointments%2f7", "encoded slashes"),
        ("/api%5Cappointments", "backslashes"),
        ("/api\\appointments", "backslashes"),
        ("/api/../admin", "dot segments"),
        ("/api/./x", "dot segments"),
        ("/api/%2e%2e/admin", "dot segments"),
        ("/api/.%2E/admin", "dot segments"),
        ("/api/..", "dot segments"),
        ("/api//x", "empty path segments"),
        ("/api/x%00", "NUL"),
        ("/api/x\x00", "NUL"),
        ("/api/x%0d%0aSet-Cookie:x", "control characters"),
        ("/api/x%7f", "control characters"),
        ("/api/x;jsessionid=1", "path parameters"),
        ("/api/x#frag", "'#'"),
        ("/api/x y", "spaces"),
        ("/api/%252e%252e/admin", "double-encoded"),
        ("/api/x%252Fy", "double-encoded"),
        ("/api/x%255cy", "double-encoded"),
        ("/api/%zz", "malformed percent-encoding"),
        ("/api/%4", "malformed percent-encoding"),
        ("/api/%", "malformed percent-encoding"),
        ("/api/%C0%AF", "not valid UTF-8"),  # overlong '/'
        ("/api/%ED%A0%80", "not valid UTF-8"),  # a UTF-16 surrogate
        ("/api/%FF", "not valid UTF-8"),
        ("api/x", "not an absolute path"),
        ("*", "not an absolute path"),
        ("", "not an absolute path"),
    ],
)
def test_it_refuses_ambiguous_paths_with_a_reason(raw, reason):
    with pytest.raises(PathError) as info:
        canonicalize_path(raw)
    assert reason in str(info.value)


def test_path_errors_are_value_errors():
    with pytest.raises(ValueError, match="encoded slashes"):
        canonicalize_path("/a%2Fb")


def test_split_target_keeps_the_query_untouched():
    assert split_target(b"/api/patients?q=DOE%2C+J") == (b"/api/patients", b"q=DOE%2C+J")
    assert split_target(b"/api/patients?") == (b"/api/patients", b"")
    assert split_target(b"/api/patients") == (b"/api/patients", None)
    assert split_target(b"/a?b?c") == (b"/a", b"b?c")
