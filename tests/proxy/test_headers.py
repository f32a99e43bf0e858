"""Header rules: hop-by-hop names, Connection-listed names, the proxy's own prefix."""

from __future__ import annotations

from proxy.headers import (
    connection_tokens,
    hop_by_hop_names,
    is_client_claim,
    is_ficus_header,
    joined_cookie_crumbs,
    single_host,
    speaks_http2,
)


def test_connection_tokens_are_lower_case_and_comma_separated():
    assert connection_tokens(["Keep-Alive, X-Secret", " close "]) == {
        "keep-alive",
        "x-secret",
        "close",
    }
    assert connection_tokens([]) == set()


def test_hop_by_hop_names_include_the_standard_list_and_what_connection_names():
    names = hop_by_hop_names(["X-Custom-Hop"])
    assert {"connection", "keep-alive", "te", "transfer-encoding", "upgrade"} <= names
    assert "x-custom-hop" in names


def test_a_peer_cannot_unframe_a_message_or_drop_host_through_connection():
    names = hop_by_hop_names(["Content-Length, Host"])
    assert "content-length" not in names
    assert "host" not in names


def test_ficus_headers_are_recognised_in_any_case():
    assert is_ficus_header("X-Ficus-Identity")
    assert is_ficus_header("x-ficus-anything")
    assert not is_ficus_header("X-Ficusidentity")
    assert not is_ficus_header("X-Forwarded-For")


def test_forwarding_claims_are_recognised_in_any_case_and_underscore_spelling():
    for name in (
        "X-Forwarded-Port",
        "x-forwarded-anything",
        "X_Forwarded_For",
        "X-Original-URL",
        "x_rewrite_url",
        "True-Client-IP",
        "CF-Connecting-IP",
        "X-Cluster-Client-IP",
        "X-ProxyUser-Ip",
        "Forwarded",
        "X_Ficus_Identity",
    ):
        assert is_client_claim(name), name
    for name in ("Accept", "X-Requested-With", "Cookie", "X-Forwardedfor"):
        assert not is_client_claim(name), name


def test_an_underscore_spelling_of_the_proxys_own_prefix_is_the_proxys_own():
    assert is_ficus_header("X_Ficus_Identity")
    assert is_ficus_header("x-ficus_request_id")


def test_the_protocol_is_the_connections_alpn():
    assert speaks_http2(b"h2")
    assert speaks_http2(b"h3")
    assert speaks_http2(b"h3-29")
    assert not speaks_http2(None)
    assert not speaks_http2(b"http/1.1")


def test_exactly_one_host_in_the_first_hosts_place():
    fields = ((b"accept", b"*/*"), (b"host", b"a"), (b"x", b"1"), (b"Host", b"b"))
    assert single_host(fields, b"up:1") == ((b"accept", b"*/*"), (b"host", b"up:1"), (b"x", b"1"))
    assert single_host(((b"accept", b"*/*"),), b"up:1") == ((b"accept", b"*/*"), (b"Host", b"up:1"))


def test_http2_cookie_crumbs_are_one_cookie_in_the_first_ones_place():
    fields = ((b"cookie", b"a=1"), (b"x-b", b"2"), (b"Cookie", b"SESSID=s"), (b"cookie", b"c=3"))

    assert joined_cookie_crumbs(fields) == ((b"cookie", b"a=1; SESSID=s; c=3"), (b"x-b", b"2"))
    assert joined_cookie_crumbs(((b"cookie", b"a=1"), (b"x-b", b"2"))) is None
    assert joined_cookie_crumbs(((b"x-b", b"2"),)) is None
