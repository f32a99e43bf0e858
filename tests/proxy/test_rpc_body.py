"""The router's RPC lookup on a real mitmproxy request: the body read only when asked."""

from __future__ import annotations

import gzip
import json

from mitmproxy.test import tutils

from proxy.rpc_body import rpc_lookup

CALL = json.dumps({"id": 1, "method": "model.party.party.search_read", "params": []}).encode()


def request(body: bytes | None, **headers: str):
    r = tutils.treq(method=b"POST", path=b"/tryton/", content=body or b"")
    r.headers.clear()
    for name, value in headers.items():
        r.headers[name.replace("_", "-")] = value
    if body is None:
        r.stream = True
        r.data.content = None
    return r


def test_it_reads_the_call_of_a_json_rpc_or_gzip_body():
    lookup = rpc_lookup(request(CALL, content_type="application/json"))
    assert lookup() == ("jsonrpc", "model.party.party.search_read")
    gz = request(gzip.compress(CALL), content_type="application/json", content_encoding="gzip")
    assert rpc_lookup(gz)() == ("jsonrpc", "model.party.party.search_read")


def test_a_soap_action_header_names_the_call():
    soap = request(b"<x/>", content_type="text/xml", SOAPAction='"urn:his:ListBeds"')
    assert rpc_lookup(soap)() == ("soap", "urn:his:ListBeds")


def test_no_body_another_type_or_a_body_over_the_budget_is_no_call():
    assert rpc_lookup(request(b"", content_type="application/json"))() is None
    assert rpc_lookup(request(None, content_type="application/json"))() is None  # streamed
    assert rpc_lookup(request(CALL, content_type="text/plain"))() is None
    assert rpc_lookup(request(CALL, content_type="application/json"), budget=10)() is None
