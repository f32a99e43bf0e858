"""Header rules: hop-by-hop names, Connection-listed names, the proxy's own prefix."""

from __future__ import annotations

from proxy.headers import connection_tokens, hop_by_hop_names, is_ficus_header


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
