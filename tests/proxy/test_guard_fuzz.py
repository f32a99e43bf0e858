"""Fuzzing the head guard: any request head is either refused with a HeadError (400 or 431 and
a reason) or is one that every HTTP parser downstream reads the same way.

Bounded in `make test` (the `ci` Hypothesis profile), long in `make fuzz`. Heads are built from
the pieces smuggling attacks use (CR, LF, NUL, vertical tab, obs-fold, duplicate Host, absolute
targets, lower-case methods) mixed with random bytes.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from proxy.canonical_path import PathError, canonicalize_path, split_target
from proxy.guard import MAX_HEAD_BYTES, HeadError, check_head

pytestmark = pytest.mark.fuzz

_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_CONTROL = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")

methods = st.sampled_from([b"GET", b"POST", b"HEAD", b"OPTIONS", b"get", b"G ET", b"", b"PUT\x00"])
names = st.sampled_from(
    [b"Host", b"host", b"HOST", b"Content-Type", b"X-Ficus-Identity", b"Transfer-Encoding",
     b"Cookie", b"X Y", b"X:Y", b"", b"\xff"]
) | st.binary(min_size=0, max_size=8)  # fmt: skip
values = st.sampled_from(
    [b"legacy.example", b"other.example", b"\x0bchunked", b"a\r\n b", b"a\r\nX: y", b"a\x00",
     b"\t", b"", b"x" * 100]
) | st.binary(max_size=16)  # fmt: skip
targets = st.sampled_from(
    [b"/", b"/api/appointments/7", b"/api/appointments/7?q=\xff", b"/a/../b", b"/a%2fb", b"*",
     b"http://legacy.example/api", b"http://evil.example/api", b"/a?b=c d", b"/a;x=1", b"",
     b"//x", b"/caf\xc3\xa9", b"/a#b"]
) | st.binary(max_size=24).map(lambda t: b"/" + t)  # fmt: skip
headers = st.lists(st.tuples(names, values), max_size=6)


def _refusal(
    method: bytes, target: bytes, headers: list[tuple[bytes, bytes]], **options: object
) -> HeadError | None:
    try:
        check_head(method, target, headers, **options)  # type: ignore[arg-type]
    except HeadError as refused:
        return refused
    return None


def _is_canonical_target(target: bytes, *, method: bytes) -> bool:
    if method == b"OPTIONS" and target == b"*":
        return True
    if not target.startswith(b"/"):  # absolute form, already checked against Host
        target = b"/" + target.split(b"://", 1)[1].partition(b"/")[2]
    path, query = split_target(target)
    if query is not None and re.search(rb"[^\x21-\x7e]", query):
        return False
    try:
        canonicalize_path(path, allow_params=True)
    except PathError:
        return False
    return True


@given(method=methods, target=targets, headers=headers, http2=st.booleans())
@example(method=b"GET", target=b"/", headers=[(b"Host", b"a"), (b"Host", b"a")], http2=False)
@example(method=b"GET", target=b"/", headers=[(b"Transfer-Encoding", b"\x0bchunked")], http2=True)
def test_a_head_is_refused_with_a_reason_or_is_unambiguous(
    method: bytes, target: bytes, headers: list[tuple[bytes, bytes]], http2: bool
) -> None:
    authority = b"legacy.example" if http2 else b""
    refused = _refusal(method, target, headers, http2=http2, authority=authority)
    if refused is not None:
        assert refused.status in (400, 431)
        assert str(refused)
        return
    assert _TOKEN.fullmatch(method)
    assert method == method.upper()
    assert all(_TOKEN.fullmatch(name) for name, _ in headers)
    assert not any(_CONTROL.search(value) for _, value in headers)
    hosts = [value for name, value in headers if name.lower() == b"host"]
    assert len(hosts) <= 1
    if not http2:
        assert len(hosts) == 1
    if http2 and hosts:
        assert hosts[0].lower() == authority.lower()
    assert len(target) + sum(len(n) + len(v) + 4 for n, v in headers) <= MAX_HEAD_BYTES
    assert _is_canonical_target(target, method=method)


@given(padding=st.integers(min_value=0, max_value=3 * MAX_HEAD_BYTES))
def test_a_head_over_the_limit_is_a_431(padding: int) -> None:
    head = [(b"Host", b"legacy.example"), (b"X-Pad", b"a" * padding)]
    size = len(b"/") + sum(len(name) + len(value) + 4 for name, value in head)  # ": " and CRLF
    refused = _refusal(b"GET", b"/", head)
    if refused is not None:
        assert (refused.status, size > MAX_HEAD_BYTES) == (431, True)
    else:
        assert size <= MAX_HEAD_BYTES
