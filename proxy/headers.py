"""Which headers the proxy removes, and the ones it owns.

Hop-by-hop headers (RFC 9110 7.6.1) describe one connection, not the message, so a proxy must
not pass them on: `Connection` itself, every header it names, and the classic list below. Two of
them are special here because mitmproxy frames each hop itself:

- `Transfer-Encoding` on a request: the addon re-frames the (fully read) body with a
  `Content-Length`, so the upstream never sees chunked framing it might parse differently;
- `Connection`/`Transfer-Encoding` on a response: mitmproxy reads them to frame and to decide
  keep-alive for the client, so they stay (mitmproxy removes them itself for HTTP/2 clients).

`X-Ficus-*` headers are the proxy's voice to the services (identity, request id). Any a client
sends is removed before routing, so a client can never speak with the proxy's voice.

Pure: works on lower-case header names, so the addon and tests share one definition.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

FICUS_PREFIX: Final = "x-ficus-"
REQUEST_ID_HEADER: Final = "X-Ficus-Request-Id"

HOP_BY_HOP: Final = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
# Headers a client could use to impersonate an earlier proxy hop; the proxy sets its own.
CLIENT_FORWARDING: Final = frozenset(
    {"forwarded", "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "x-real-ip"}
)
# Never strip these because a peer listed them in Connection: the proxy sets them itself or
# they frame the message (a forged "Connection: content-length" must not unframe a body).
_PROTECTED: Final = frozenset({"host", "content-length"})


def connection_tokens(values: Iterable[str]) -> set[str]:
    """The lower-case option names listed in one or more Connection header values."""
    return {t.strip().lower() for v in values for t in v.split(",") if t.strip()}


def hop_by_hop_names(connection_values: Iterable[str]) -> frozenset[str]:
    """Every header name to remove from a message with these Connection header values."""
    return (HOP_BY_HOP | connection_tokens(connection_values)) - _PROTECTED


def is_ficus_header(name: str) -> bool:
    return name.lower().startswith(FICUS_PREFIX)
