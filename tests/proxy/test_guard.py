"""check_head: the pure request-head validator that refuses what parsers could read apart."""

from __future__ import annotations

import pytest

from proxy.guard import MAX_HEAD_BYTES, HeadError, check_head

HOST = (b"Host", b"hospital.example")


def test_a_clinicians_ordinary_request_passes():
    check_head(b"GET", b"/api/appointments/7?prov=1", [HOST, (b"Cookie", b"SESSID=abc")])
    check_head(b"OPTIONS", b"*", [HOST])


@pytest.mark.parametrize(
    ("method", "target", "headers", "reason"),
    [
        (b"G(T", b"/", [HOST], "not a valid token"),
        (b"get", b"/", [HOST], "not upper case"),
        (b"GET", b"/", [HOST, (b"X-A", b"a\rb")], "control characters"),
        (b"GET", b"/", [HOST, (b"X-A", b"a\x00b")], "control characters"),
        (b"GET", b"/", [HOST, (b"X-A", b"a\x0bb")], "control characters"),
        (b"GET", b"/", [HOST, (b"X-A", b"a\r\n b")], "obs-fold"),
        (b"GET", b"/", [HOST, (b"X A", b"b")], "header name"),
        (b"GET", b"/", [], "Host header is missing"),
        (b"GET", b"/", [HOST, (b"host", b"evil.example")], "more than one Host"),
        (b"GET", b"http://evil.example/", [HOST], "another host"),
        (b"GET", b"/a/../b", [HOST], "dot segments"),
        (b"GET", b"/a/%2e%2E/b", [HOST], "dot segments"),
        (b"GET", b"/a%2Fb", [HOST], "encoded slashes"),
        (b"GET", b"/a%5cb", [HOST], "backslashes"),
        (b"GET", b"/a//b", [HOST], "empty path segments"),
        (b"GET", b"/a/..;x=1/b", [HOST], "dot segments"),  # a parameter hiding a `..`
        (b"GET", b"/a/%c0%ae", [HOST], "UTF-8"),
        (b"GET", b"/a/%252e%252e", [HOST], "double-encoded"),
        (b"GET", b"/caf\xc3\xa9", [HOST], "visible ASCII"),  # legacy's server refuses it too
        (b"GET", b"/a?q=caf\xc3\xa9", [HOST], "visible ASCII"),
    ],
)
def test_an_outsiders_ambiguous_head_is_refused_with_a_reason(method, target, headers, reason):
    with pytest.raises(HeadError, match=reason) as info:
        check_head(method, target, headers)
    assert info.value.status == 400


def test_an_oversized_head_gets_431():
    with pytest.raises(HeadError) as info:
        check_head(b"GET", b"/", [HOST, (b"X-Big", b"a" * MAX_HEAD_BYTES)])
    assert info.value.status == 431


def test_absolute_form_at_the_same_host_is_left_to_the_routing_addon():
    check_head(b"GET", b"http://hospital.example/api/x", [HOST])


def test_http2_needs_no_host_but_it_must_agree_with_the_authority():
    check_head(b"GET", b"/", [], http2=True, authority=b"hospital.example")
    check_head(b"GET", b"/", [HOST], http2=True, authority=b"HOSPITAL.example")
    with pytest.raises(HeadError, match="disagree"):
        check_head(b"GET", b"/", [(b"host", b"evil.example")], http2=True, authority=b"h.example")


def test_path_parameters_are_left_to_the_route_that_allows_them_or_not():
    # Only the route knows whether its plan allows `;params`: the router refuses them after
    # routing (tests/proxy/test_addon_path_params.py).
    check_head(b"GET", b"/api/notes/7;jsessionid=A1", [HOST])


@pytest.mark.parametrize("version", [b"HTTP/2.0", b"HTTP/9.9", b"HTTP/1.2", b"HTTP/0.9"])
def test_an_http1_connection_speaks_only_http10_and_http11(version):
    # The version text decides nothing: `HTTP/2.0` on an HTTP/1 connection is refused, not HTTP/2.
    with pytest.raises(HeadError) as info:
        check_head(b"GET", b"/", [], version=version)
    assert info.value.status == 505
    check_head(b"GET", b"/", [HOST], version=b"HTTP/1.0")
    check_head(b"GET", b"/", [], http2=True, authority=b"h.example", version=b"HTTP/2.0")


@pytest.mark.parametrize("host", [b"a b", b"@", b"user@evil.example", b"", b"h.example:x", b'"h"'])
def test_a_host_that_is_no_host_name_is_refused(host):
    with pytest.raises(HeadError, match="not a valid host"):
        check_head(b"GET", b"/", [(b"Host", host)])


@pytest.mark.parametrize("host", [b"h.example", b"h.example:8080", b"10.0.0.1", b"[::1]:8000"])
def test_a_host_name_or_address_with_a_port_passes(host):
    check_head(b"GET", b"/", [(b"Host", host)])
