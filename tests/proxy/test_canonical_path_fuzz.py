"""Fuzzing path canonicalization: whatever bytes arrive, the answer is a canonical path or a
PathError, and a canonical path means to a server exactly what the raw one meant.

Bounded in `make test` (the `ci` Hypothesis profile), long in `make fuzz`. The alphabet leans
on the bytes that matter to a path parser (`/ . % ; \\`, hex digits, controls, UTF-8 lead
bytes) so a short run reaches the interesting branches, and plain `binary()` covers the rest.
"""

from __future__ import annotations

import re
from urllib.parse import unquote_to_bytes

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from proxy.canonical_path import PathError, canonicalize_path, split_target, strip_params

pytestmark = pytest.mark.fuzz

# Pieces a hostile path is made of, as bytes.
_PIECES = st.sampled_from(
    [
        b"/", b"//", b".", b"..", b"%2e", b"%2E", b"%2f", b"%2F", b"%5c", b"%252e", b"%25",
        b"%", b"%0", b"%zz", b";", b";x=1", b"%3b", b"\\", b"#", b"?", b" ", b"\x00", b"\x7f",
        b"\xc3\xa9", b"\xc0\xaf", b"%c0%af", b"%C3%A9", b"\xff", b"api", b"appointments", b"7",
        b"~", b"@", b":", b"'", b"%7E", b"%41",
    ]
)  # fmt: skip
hostile_paths = st.lists(_PIECES | st.binary(max_size=3), max_size=12).map(
    lambda parts: b"/" + b"".join(parts)
)
any_bytes = st.binary(max_size=64)

# What a canonical path may contain: `/`-separated segments of safe characters and upper-case
# escapes, `;` only where parameters are allowed.
_CANONICAL = re.compile(r"(?:/(?:[A-Za-z0-9\-._~!$&'()*+,=:@]|%[0-9A-F]{2})*)+")
_CANONICAL_WITH_PARAMS = re.compile(r"(?:/(?:[A-Za-z0-9\-._~!$&'()*+,=:@;]|%[0-9A-F]{2})*)+")


def _canonical_or_reason(raw: bytes, *, allow_params: bool) -> str | PathError:
    try:
        return canonicalize_path(raw, allow_params=allow_params)
    except PathError as refused:
        return refused


def _segments(path: str) -> list[str]:
    return path[1:].split("/")


@given(raw=hostile_paths | any_bytes, allow_params=st.booleans())
@example(raw=b"/api/appointments/%37", allow_params=False)
@example(raw=b"/..;x/admin", allow_params=True)
def test_any_bytes_give_a_canonical_path_or_a_path_error(raw: bytes, allow_params: bool) -> None:
    canonical = _canonical_or_reason(raw, allow_params=allow_params)
    if isinstance(canonical, PathError):
        assert str(canonical)  # a reason the client can read
        return
    pattern = _CANONICAL_WITH_PARAMS if allow_params else _CANONICAL
    assert pattern.fullmatch(canonical), canonical
    # No separator, dot segment or empty segment can hide in what goes upstream.
    names = _segments(strip_params(canonical))
    assert all(name not in (".", "..") for name in names)
    assert all(name for name in names[:-1])
    assert "%2F" not in canonical
    assert "%5C" not in canonical
    assert canonicalize_path(canonical, allow_params=allow_params) == canonical  # a fixed point


@given(raw=hostile_paths)
def test_a_canonical_path_decodes_to_the_bytes_the_client_meant(raw: bytes) -> None:
    try:
        canonical = canonicalize_path(raw)
    except PathError:
        return
    assert unquote_to_bytes(canonical) == unquote_to_bytes(raw)


@given(raw=hostile_paths)
def test_parameters_never_change_what_the_names_mean(raw: bytes) -> None:
    """With parameters allowed, the path without them is what the same names give on their
    own: a parameter can never turn a segment into a dot segment or a separator."""
    try:
        with_params = canonicalize_path(raw, allow_params=True)
    except PathError:
        return
    names_only = b"/" + b"/".join(s.partition(b";")[0] for s in raw[1:].split(b"/"))
    assert strip_params(with_params) == canonicalize_path(names_only)


@given(target=any_bytes | hostile_paths.map(lambda p: p + b"?" + p))
def test_split_target_loses_no_byte(target: bytes) -> None:
    path, query = split_target(target)
    assert path + (b"?" + query if query is not None else b"") == target
    assert b"?" not in path
