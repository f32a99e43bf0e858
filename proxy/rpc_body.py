"""The request's RPC call, read from its body only when routing asks (`RequestInfo.rpc`).

The router hands `decide` this lookup; `domain.routing` calls it only when the matched path has
RPC routes, so requests elsewhere never have their body parsed. The body is already read in
full by then (the guard's body budget bounds it); `domain.rpc.rpc_call` decodes gzip and reads
no further than `RPC_BYTE_BUDGET` of it. A streamed body (no `raw_content`) is no call.
"""

from __future__ import annotations

from typing import Final

from mitmproxy import http

from domain.routes import RpcLookup
from domain.rpc import DEFAULT_BUDGET, rpc_call

RPC_BYTE_BUDGET: Final = DEFAULT_BUDGET


def rpc_lookup(request: http.Request, budget: int = RPC_BYTE_BUDGET) -> RpcLookup:
    def lookup() -> tuple[str, str] | None:
        body = request.raw_content
        if not body:
            return None
        headers = request.headers
        call = rpc_call(
            headers.get("content-type"),
            headers.get("content-encoding"),
            headers.get("soapaction"),
            body,
            budget,
        )
        if call.protocol is None or call.method is None:
            return None
        return str(call.protocol), call.method

    return lookup
