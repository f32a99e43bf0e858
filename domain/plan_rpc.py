"""A route's `rpc:` match in a plan: which RPC method of an endpoint it moves, read or write.

    routes:
      - method: POST
        path: /{db}/
        rpc: {protocol: jsonrpc, method: model.party.party.search_read, class: read}

`protocol` is `jsonrpc`, `xmlrpc` or `soap` (`domain.rpc` reads the call); `method` is the
name, or a pattern ending in `*` (`model.party.party.*`, longest prefix wins); `class` is
required, because the plan is the only place that knows whether a POST reads: `read` methods
may be sent to a canary cohort's service, retried on legacy and shadowed like a GET, `write`
methods are treated like any other write. An RPC route needs a body, so its method is POST.
"""

from __future__ import annotations

import re
from typing import Final

from yaml.nodes import Node

from domain.plan_yaml import NodeReader
from domain.routes import RPC_PROTOCOLS, RPC_WILDCARD, RpcClass, RpcMatch

RPC_FIELDS: Final = ("protocol", "method", "class")
_RPC_REQUIRED: Final = frozenset(RPC_FIELDS)
_CLASSES: Final = tuple(c.value for c in RpcClass)
# What `domain.rpc` accepts as a name (no spaces or control characters), `*` only at the end;
# at most 120 characters, so that path and name fit the control plane's 200-character template.
_NAME_RE: Final = re.compile(r"[^\x00-\x20\x7f*]{1,120}\*?|\*")


def read_rpc(reader: NodeReader, node: Node, prefix: str, method: str | None) -> RpcMatch | None:
    """The route's RPC match, or None after reporting every problem in it."""
    fields = reader.mapping(node, prefix, RPC_FIELDS, _RPC_REQUIRED)
    if fields is None:
        return None
    protocol = name = rpc_class = None
    if "protocol" in fields:
        protocol = reader.choice(fields["protocol"], f"{prefix}.protocol", RPC_PROTOCOLS)
    if "method" in fields and (value := reader.string(fields["method"], f"{prefix}.method")):
        if _NAME_RE.fullmatch(value):
            name = value
        else:
            reader.fail(
                fields["method"],
                f"{prefix}.method",
                f"{value!r} is not an RPC method name (no spaces; '*' only at the end)",
            )
    if "class" in fields:
        rpc_class = reader.choice(fields["class"], f"{prefix}.class", _CLASSES)
    if method is not None and method != "POST":
        reader.fail(node, prefix, f"an RPC call is a POST body, but the route's method is {method}")
        return None
    if protocol is None or name is None or rpc_class is None:
        return None
    return RpcMatch(protocol, name, RpcClass(rpc_class))


__all__ = ["RPC_FIELDS", "RPC_WILDCARD", "read_rpc"]
