"""`;` path parameters, when the caller allows them: kept, canonical, and never a way around
the other refusals."""

from __future__ import annotations

import pytest

from proxy.canonical_path import PathError, canonicalize_path, strip_params


@pytest.mark.parametrize(
    ("raw", "canonical", "matched"),
    [
        ("/api/notes/7;jsessionid=A1", "/api/notes/7;jsessionid=A1", "/api/notes/7"),
        ("/a;x=1/b;y", "/a;x=1/b;y", "/a/b"),
        ("/a/%62;x=%41;y", "/a/b;x=A;y", "/a/b"),
        ("/a;%3B", "/a;%3B", "/a"),  # an encoded ';' inside a parameter stays data
        ("/a%3Bb;x", "/a%3Bb;x", "/a%3Bb"),
        ("/a/;x", "/a/;x", "/a/"),
        ("/plain/path", "/plain/path", "/plain/path"),
    ],
)
def test_it_keeps_parameters_canonical_and_strips_them_for_matching(raw, canonical, matched):
    assert canonicalize_path(raw, allow_params=True) == canonical
    assert canonicalize_path(canonical, allow_params=True) == canonical  # a fixed point
    assert strip_params(canonical) == matched


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("/api/..;x/admin", "dot segments"),
        ("/api/.;x/admin", "dot segments"),
        ("/api/%2e%2e;x/admin", "dot segments"),
        ("/api;x//admin", "empty path segments"),
        ("/api/x;y%2Fz", "encoded slashes"),
        ("/api/x;y\\z", "backslashes"),
        ("/api/x;y%00", "NUL"),
        ("/api/x;y%252e", "double-encoded"),
        ("/api/x;%C0%AF", "UTF-8"),
        ("/api/x;a#b", "'#'"),
    ],
)
def test_allowing_parameters_keeps_every_other_refusal(raw, reason):
    with pytest.raises(PathError, match=reason):
        canonicalize_path(raw, allow_params=True)


def test_without_permission_a_parameter_is_still_refused():
    with pytest.raises(PathError, match="';' path parameters are not allowed"):
        canonicalize_path("/api/notes/7;jsessionid=A1")
