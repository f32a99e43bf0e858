"""Reading the RPC method a request calls from its body: each protocol, gzip, the byte budget,
malformed bodies, JSON-RPC batches, and XML that must never expand an entity."""

from __future__ import annotations

import gzip
import json
import zlib

import pytest

from domain.rpc import Protocol, RpcCall, RpcReason, rpc_call

SEARCH = "model.party.party.search_read"


def called(protocol: Protocol, method: str) -> RpcCall:
    return RpcCall(RpcReason.CALL, protocol, method)


def trytond_call(method: str = SEARCH, params: object = None) -> bytes:
    # What trytond's JSON-RPC client (tryton, proteus) sends to POST /DBNAME/.
    return json.dumps(
        {"id": 7, "method": method, "params": params or [[], 0, 10, None, {}]}
    ).encode()


def xmlrpc(method: str, tail: str = "<params/>") -> bytes:
    return (
        f'<?xml version="1.0"?><methodCall><methodName>{method}</methodName>{tail}</methodCall>'
    ).encode()


def soap(body: str, envelope: str = "http://schemas.xmlsoap.org/soap/envelope/") -> bytes:
    return (
        f'<s:Envelope xmlns:s="{envelope}"><s:Header><a>1</a></s:Header>'
        f"<s:Body>{body}</s:Body></s:Envelope>"
    ).encode()


@pytest.mark.parametrize(
    "body",
    [
        trytond_call(),
        b'{"jsonrpc": "2.0", "method": "model.party.party.search_read", "params": {}, "id": 1}',
        b'{"params": [], "method": "model.party.party.search_read", "id": null}',  # 1.0
    ],
)
def test_it_reads_a_json_rpc_method_in_every_dialect(body):
    assert rpc_call("application/json", None, None, body) == called(Protocol.JSONRPC, SEARCH)


def test_it_reads_json_with_a_charset_and_json_rpc_media_types():
    for kind in ("application/json; charset=utf-8", "application/json-rpc", "application/x+json"):
        assert rpc_call(kind, None, None, trytond_call()).method == SEARCH, kind


def test_it_reads_an_xml_rpc_method_name():
    body = xmlrpc(
        " common.db.list ", "<params><param><value><string>x</string></value></param></params>"
    )
    assert rpc_call("text/xml", None, None, body) == called(Protocol.XMLRPC, "common.db.list")


def test_it_reads_a_soap_11_action_from_its_header_without_parsing_the_body():
    assert rpc_call("text/xml; charset=utf-8", None, '"urn:GetPatient"', b"<not xml") == called(
        Protocol.SOAP, "urn:GetPatient"
    )


def test_it_reads_a_soap_12_action_from_the_content_type():
    kind = 'application/soap+xml; charset=utf-8; action="urn:ListWards"'
    assert rpc_call(kind, None, None, b"") == called(Protocol.SOAP, "urn:ListWards")


@pytest.mark.parametrize(
    "envelope",
    ["http://schemas.xmlsoap.org/soap/envelope/", "http://www.w3.org/2003/05/soap-envelope"],
)
def test_without_an_action_it_reads_the_first_element_of_the_soap_body(envelope):
    body = soap('<m:GetPatient xmlns:m="urn:his"><m:id>7</m:id></m:GetPatient>', envelope)
    # An empty SOAPAction ("") says nothing: the body names the call.
    assert rpc_call("text/xml", None, '""', body) == called(Protocol.SOAP, "GetPatient")


def test_a_gzip_or_deflate_body_is_decoded_first():
    assert (
        rpc_call("application/json", "gzip", None, gzip.compress(trytond_call())).method == SEARCH
    )
    assert rpc_call("text/xml", "deflate", None, zlib.compress(xmlrpc("a.b"))).method == "a.b"


def test_a_gzip_bomb_stops_at_the_budget():
    bomb = gzip.compress(b'{"method": "a", "params": "' + b"x" * 50_000_000 + b'"}')
    assert (
        rpc_call("application/json", "gzip", None, bomb, 64 * 1024).reason is RpcReason.OVER_BUDGET
    )


def test_json_must_fit_the_budget_whole_but_xml_only_up_to_the_name():
    big = trytond_call(params=["x" * 5000])
    assert rpc_call("application/json", None, None, big, 1000).reason is RpcReason.OVER_BUDGET
    assert rpc_call("text/xml", None, None, xmlrpc("a.b", "<x/>" * 5000), 1000).method == "a.b"
    late = xmlrpc("a" * 10, "").replace(b"<methodCall>", b"<methodCall>" + b" " * 2000)
    assert rpc_call("text/xml", None, None, late, 1000).reason is RpcReason.OVER_BUDGET


@pytest.mark.parametrize(
    ("kind", "body"),
    [
        ("application/json", b'{"method": 3}'),
        ("application/json", b'{"method": "two words"}'),
        ("application/json", b'{"method": "' + b"a" * 300 + b'"}'),
        ("application/json", b'{"method": "a"'),
        ("application/json", b'"just a string"'),
        ("application/json", b"[" * 50_000),
        ("text/xml", b"<methodCall><params/><methodName>a</methodName></methodCall>"),
        ("text/xml", b"<other><methodName>a</methodName></other>"),
        ("text/xml", soap("")),
        ("text/xml", b"<methodCall><methodName>a</methodCall>"),
    ],
)
def test_a_malformed_call_names_no_method(kind, body):
    assert rpc_call(kind, None, None, body) == RpcCall(RpcReason.MALFORMED)


def test_a_corrupt_gzip_body_is_malformed_and_an_unknown_encoding_no_call():
    assert rpc_call("application/json", "gzip", None, b"not gzip").reason is RpcReason.MALFORMED
    assert rpc_call("application/json", "br", None, trytond_call()).reason is RpcReason.NOT_RPC


def test_bodies_of_other_types_are_not_rpc():
    for kind in (None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data"):
        assert rpc_call(kind, None, None, trytond_call()) == RpcCall(RpcReason.NOT_RPC), kind


def test_a_batch_of_one_method_names_it_and_a_mixed_batch_names_none():
    same = json.dumps([{"method": SEARCH, "id": 1}, {"method": SEARCH, "id": 2}]).encode()
    assert rpc_call("application/json", None, None, same) == called(Protocol.JSONRPC, SEARCH)
    mixed = json.dumps([{"method": SEARCH, "id": 1}, {"method": "model.party.party.write"}])
    assert rpc_call("application/json", None, None, mixed.encode()) == RpcCall(
        RpcReason.BATCH, Protocol.JSONRPC
    )
    assert rpc_call("application/json", None, None, b"[]").reason is RpcReason.BATCH


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<methodCall><methodName>&lol3;</methodName></methodCall>"""

EXTERNAL = b"""<?xml version="1.0"?>
<!DOCTYPE m [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<methodCall><methodName>&secret;</methodName></methodCall>"""


@pytest.mark.parametrize(
    "body",
    [
        BILLION_LAUGHS,
        EXTERNAL,
        b'<!DOCTYPE m SYSTEM "http://outsider.invalid/m.dtd"><methodCall/>',
        b"<methodCall><methodName>&undeclared;</methodName></methodCall>",
    ],
)
def test_an_outsiders_dtd_or_entity_is_refused_before_any_expansion(body):
    assert rpc_call("text/xml", None, None, body) == RpcCall(RpcReason.MALFORMED)
