"""Which RPC method a request calls, from its body: JSON-RPC, XML-RPC or SOAP (pure).

Legacy RPC endpoints put every call on one path (trytond: `POST /DBNAME/`), with the method in
the body, so routing needs the method name to tell `model.party.party.search_read` from
`model.party.party.write`. `rpc_call(content_type, content_encoding, soap_action, body,
budget)` reads it:

- JSON-RPC 1.0/2.0 and trytond's dialect (`{"method": "model.party.party.search_read",
  "params": [...], "id": 1}`): the string `method` of one call object. A batch (an array of
  calls) names its method only if every call names the same one; a batch of different methods
  is `BATCH` (no method), so it goes where the path alone goes, as the write a POST is.
- XML-RPC: `<methodCall><methodName>NAME</methodName>`.
- SOAP: the action of the SOAP 1.1 `SOAPAction` header or the SOAP 1.2 content type's
  `action=` parameter; without one, the local name of the first element of the SOAP 1.1/1.2
  `Body`.

A `gzip` (or `deflate`) body is decoded first, never beyond `budget` bytes, so a gzip bomb
costs at most the budget. JSON needs the whole (decoded) document within the budget; XML is
parsed incrementally and stops as soon as it has the name, so only the part before the name
must fit. XML is parsed with expat with no DTD at all: a document type declaration (and so
every entity declaration: billion laughs, external entities) is refused as `MALFORMED`.

Names longer than `MAX_NAME` or with control characters or spaces are `MALFORMED`: a name is
matched against a plan's names and never logged by itself (logs carry the matched route's).
Parameters are never looked at beyond skipping them.
"""

from __future__ import annotations

import json
import re
import zlib
from dataclasses import dataclass
from enum import StrEnum
from typing import Final
from xml.parsers import expat


class Protocol(StrEnum):
    JSONRPC = "jsonrpc"
    XMLRPC = "xmlrpc"
    SOAP = "soap"


class RpcReason(StrEnum):
    CALL = "call"  # a method name was found
    NOT_RPC = "not_rpc"  # no RPC content type (or an encoding we do not decode)
    OVER_BUDGET = "over_budget"  # the name lies beyond the byte budget
    MALFORMED = "malformed"  # not a well-formed call (or a refused DTD)
    BATCH = "batch"  # a JSON-RPC batch of different methods (or an empty one)


@dataclass(frozen=True, slots=True)
class RpcCall:
    reason: RpcReason
    protocol: Protocol | None = None
    method: str | None = None  # set iff reason is CALL


MAX_NAME: Final = 256
DEFAULT_BUDGET: Final = 64 * 1024
_NAME_RE: Final = re.compile(rf"[^\x00-\x20\x7f]{{1,{MAX_NAME}}}")
_JSON_TYPES: Final = frozenset(
    {"application/json", "application/json-rpc", "application/jsonrequest"}
)
_XML_TYPES: Final = frozenset({"text/xml", "application/xml", "application/soap+xml"})
_SOAP_ENVELOPES: Final = frozenset(
    {"http://schemas.xmlsoap.org/soap/envelope/", "http://www.w3.org/2003/05/soap-envelope"}
)
# zlib window bits: gzip header and trailer, or a zlib stream (what HTTP calls deflate).
_WBITS: Final = {"gzip": 31, "x-gzip": 31, "deflate": 15}
_NOT_RPC: Final = RpcCall(RpcReason.NOT_RPC)
_OVER: Final = RpcCall(RpcReason.OVER_BUDGET)
_MALFORMED: Final = RpcCall(RpcReason.MALFORMED)


def media_type(content_type: str) -> tuple[str, dict[str, str]]:
    """`text/xml; charset=utf-8` -> ("text/xml", {"charset": "utf-8"}), lower-cased names."""
    kind, *rest = content_type.split(";")
    params: dict[str, str] = {}
    for part in rest:
        name, sep, value = part.strip().partition("=")
        if sep:
            params[name.strip().lower()] = value.strip().strip('"')
    return kind.strip().lower(), params


def rpc_call(
    content_type: str | None,
    content_encoding: str | None,
    soap_action: str | None,
    body: bytes,
    budget: int = DEFAULT_BUDGET,
) -> RpcCall:
    kind, params = media_type(content_type or "")
    is_json = kind in _JSON_TYPES or (kind.startswith("application/") and kind.endswith("+json"))
    if not is_json and kind not in _XML_TYPES:
        return _NOT_RPC
    action = soap_action if soap_action is not None else params.get("action")
    if action is not None and (action := action.strip().strip('"')) and not is_json:
        return _named(Protocol.SOAP, action)  # the action names the call: no parse needed
    encoding = (content_encoding or "identity").strip().lower()
    if encoding == "identity":
        data, complete = body[:budget], len(body) <= budget
    elif encoding in _WBITS:
        decoder = zlib.decompressobj(_WBITS[encoding])
        try:
            data = decoder.decompress(body, budget + 1)
        except zlib.error:
            return _MALFORMED
        complete = len(data) <= budget
        data = data[:budget]
    else:
        return _NOT_RPC
    if is_json:
        return _json_call(data) if complete else _OVER
    return _xml_call(data, complete)


def _named(protocol: Protocol, name: object) -> RpcCall:
    if isinstance(name, str) and _NAME_RE.fullmatch(name):
        return RpcCall(RpcReason.CALL, protocol, name)
    return _MALFORMED


def _json_call(data: bytes) -> RpcCall:
    try:
        document = json.loads(data)
    except (ValueError, RecursionError):
        return _MALFORMED
    if isinstance(document, dict):
        return _named(Protocol.JSONRPC, document.get("method"))
    if not isinstance(document, list):
        return _MALFORMED
    names = {call.get("method") if isinstance(call, dict) else None for call in document}
    if len(names) != 1:
        return RpcCall(RpcReason.BATCH, Protocol.JSONRPC)
    return _named(Protocol.JSONRPC, names.pop())


class _FoundError(Exception):
    """Raised from an expat handler to stop parsing: the name is known (or refused)."""

    def __init__(self, call: RpcCall) -> None:
        self.call = call


class _Reader:
    """Expat handlers that follow the elements down to the method name and stop there."""

    def __init__(self) -> None:
        self.stack: list[str] = []
        self.text: list[str] | None = None  # collecting <methodName> text

    def start(self, name: str, attributes: object) -> None:
        stack = self.stack
        stack.append(name)
        depth = len(stack)
        if depth == 1 and name not in ("methodCall",) and _local(name)[0] not in _SOAP_ENVELOPES:
            raise _FoundError(_MALFORMED)
        if stack[0] == "methodCall":
            if depth == 2 and name == "methodName":
                self.text = []
            elif depth == 2:
                raise _FoundError(_MALFORMED)  # methodName comes first
            return
        envelope = _local(stack[0])[0]
        if depth == 2 and _local(name) not in ((envelope, "Header"), (envelope, "Body")):
            raise _FoundError(_MALFORMED)
        if depth == 3 and _local(stack[1]) == (envelope, "Body"):
            raise _FoundError(_named(Protocol.SOAP, _local(name)[1]))

    def end(self, name: str) -> None:
        if self.text is not None:
            raise _FoundError(_named(Protocol.XMLRPC, "".join(self.text).strip()))
        self.stack.pop()

    def chars(self, data: str) -> None:
        if self.text is not None:
            self.text.append(data)
            if sum(map(len, self.text)) > MAX_NAME:
                raise _FoundError(_MALFORMED)


def _local(name: str) -> tuple[str, str]:
    """Expat's "namespace local" name (separator " ") as (namespace, local)."""
    namespace, sep, local = name.rpartition(" ")
    return (namespace, local) if sep else ("", name)


def _refuse(*_: object) -> None:
    raise _FoundError(_MALFORMED)


def _refuse_external(
    context: str, base: str | None, system_id: str | None, public_id: str | None
) -> int:
    raise _FoundError(_MALFORMED)


def _xml_call(data: bytes, complete: bool) -> RpcCall:
    reader = _Reader()
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    # No DTD at all: entities can then be neither declared (billion laughs) nor external.
    parser.StartDoctypeDeclHandler = _refuse
    parser.EntityDeclHandler = _refuse
    parser.ExternalEntityRefHandler = _refuse_external
    parser.StartElementHandler = reader.start
    parser.EndElementHandler = reader.end
    parser.CharacterDataHandler = reader.chars
    try:
        parser.Parse(data, complete)
    except _FoundError as found:
        return found.call
    except expat.ExpatError:
        return _MALFORMED
    return _MALFORMED if complete else _OVER
