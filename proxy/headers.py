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

Forwarding claims (`CLIENT_CLAIMS`): every header a backend framework reads as a proxy's word on
the client's address, scheme, host, port, prefix, original URL or user (Werkzeug's ProxyFix,
Django's `SECURE_PROXY_SSL_HEADER`/`USE_X_FORWARDED_*`, IIS/ASP.NET's `X-Original-URL`, CDNs'
`True-Client-IP`/`CF-Connecting-IP` ...). The proxy sets its own `X-Forwarded-For/-Proto/-Host`;
every claim a client sent is removed. WSGI and CGI servers read `X_Forwarded_For` and
`X-Forwarded-For` as the same `HTTP_X_FORWARDED_FOR`, so names are compared with `_` read as
`-` (`claim_name`).

Which HTTP a request came in is the connection's (`speaks_http2`: the ALPN it negotiated), never
the version its request line claims: `GET / HTTP/2.0` in HTTP/1 text is HTTP/1 (and refused by
the guard with a 505). Toward an upstream a request has exactly one Host (`single_host`),
whatever Host and `:authority` the client sent.

Pure: works on header names and raw fields, so the addons and tests share one definition.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Final

FICUS_PREFIX: Final = "x-ficus-"

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
# Headers a client could use to impersonate an earlier proxy hop (compared after `claim_name`);
# the proxy sets its own. Every `x-forwarded-*` name is one too (`_CLAIM_PREFIXES`).
CLIENT_CLAIMS: Final = frozenset(
    {
        "forwarded",
        "x-real-ip",
        "x-real-port",
        "x-client-ip",
        "client-ip",
        "x-cluster-client-ip",
        "true-client-ip",  # Akamai, Cloudflare
        "cf-connecting-ip",
        "cf-connecting-ipv6",
        "cf-visitor",
        "fastly-client-ip",
        "x-azure-clientip",
        "x-azure-socketip",
        "x-appengine-user-ip",
        "fly-client-ip",
        "x-envoy-external-address",
        "x-original-forwarded-for",
        "x-originating-ip",
        "x-remote-ip",
        "x-remote-addr",
        "x-proxyuser-ip",
        "proxy-client-ip",  # WebLogic
        "wl-proxy-client-ip",
        "wl-proxy-ssl",
        "x-host",
        "x-original-host",
        "x-original-url",  # IIS URL Rewrite, ASP.NET
        "x-rewrite-url",
        "x-original-uri",
        "x-envoy-original-path",
        "x-url-scheme",  # Django's SECURE_PROXY_SSL_HEADER, in many deployments
        "x-scheme",
        "front-end-https",  # IIS ARR
        "x-arr-ssl",
        "x-remote-user",  # Django RemoteUserMiddleware deployments, Grafana
        "remote-user",
        "x-webauth-user",
        "x-proxy-user",
    }
)
_CLAIM_PREFIXES: Final = ("x-forwarded-", "x-ssl-client-", "x-client-cert")
# Never strip these because a peer listed them in Connection: the proxy sets them itself or
# they frame the message (a forged "Connection: content-length" must not unframe a body).
_PROTECTED: Final = frozenset({"host", "content-length"})


def connection_tokens(values: Iterable[str]) -> set[str]:
    """The lower-case option names listed in one or more Connection header values."""
    return {t.strip().lower() for v in values for t in v.split(",") if t.strip()}


def hop_by_hop_names(connection_values: Iterable[str]) -> frozenset[str]:
    """Every header name to remove from a message with these Connection header values."""
    return (HOP_BY_HOP | connection_tokens(connection_values)) - _PROTECTED


def claim_name(name: str) -> str:
    """The name as a WSGI/CGI server reads it: case and `_` versus `-` make no difference."""
    return name.lower().replace("_", "-")


def is_ficus_header(name: str) -> bool:
    """An `X-Ficus-*` header, in any case or underscore spelling (`X_Ficus_Identity`)."""
    return claim_name(name).startswith(FICUS_PREFIX)


def is_client_claim(name: str) -> bool:
    """A header the proxy must never pass on from a client: a forwarding claim or its own."""
    lowered = claim_name(name)
    return (
        lowered in CLIENT_CLAIMS
        or lowered.startswith(_CLAIM_PREFIXES)
        or lowered.startswith(FICUS_PREFIX)
    )


def speaks_http2(alpn: bytes | None) -> bool:
    """Whether a client connection with this negotiated ALPN carries HTTP/2 or /3 (Host as
    `:authority`), as mitmproxy's HTTP layer decides which server to run; else HTTP/1."""
    return alpn is not None and (alpn == b"h2" or alpn == b"h3" or alpn.startswith(b"h3-"))


def single_host(
    fields: Sequence[tuple[bytes, bytes]], authority: bytes
) -> tuple[tuple[bytes, bytes], ...]:
    """The fields with exactly one Host, `authority`: in the first Host's place and spelling,
    or appended if there was none. Every other Host goes (an HTTP/2 client may send `host`
    next to `:authority`; the upstream must not choose between them)."""
    out: list[tuple[bytes, bytes]] = []
    placed = False
    for name, value in fields:
        if name.lower() != b"host":
            out.append((name, value))
        elif not placed:
            out.append((name, authority))
            placed = True
    if not placed:
        out.append((b"Host", authority))
    return tuple(out)


def joined_cookie_crumbs(
    fields: Sequence[tuple[bytes, bytes]],
) -> tuple[tuple[bytes, bytes], ...] | None:
    """An HTTP/2 request's Cookie fields as the one HTTP/1.1 Cookie header they stand for, in
    the first one's place (RFC 9113 §8.2.3: a client may split the cookie into crumbs, and a
    proxy speaking HTTP/1.1 upstream MUST join them with "; "); None when there is nothing to
    join. Two Cookie headers on HTTP/1.1 are joined with "," by the legacy app's server, which
    splits cookies on ";" only: `SESSID` in a second crumb would be no session at all."""
    crumbs = [value for name, value in fields if name.lower() == b"cookie"]
    if len(crumbs) < 2:
        return None
    out: list[tuple[bytes, bytes]] = []
    for name, value in fields:
        if name.lower() != b"cookie":
            out.append((name, value))
        elif crumbs:
            out.append((name, b"; ".join(crumbs)))
            crumbs = []
    return tuple(out)


def header_values(fields: Sequence[tuple[bytes, bytes]], lower_name: bytes) -> list[str]:
    """The values of one header, straight from the raw fields (no multidict lookups)."""
    return [v.decode("latin-1") for n, v in fields if n.lower() == lower_name]


def without_headers(
    fields: Sequence[tuple[bytes, bytes]],
    remove: frozenset[str],
    also: Callable[[str], bool] = is_ficus_header,
) -> tuple[tuple[bytes, bytes], ...]:
    """The fields minus the named headers and every header `also` names, in one pass: on a
    response every X-Ficus-* header, on a request every client claim (`is_client_claim`)."""
    return tuple(
        (n, v)
        for n, v in fields
        if (name := n.decode("latin-1").lower()) not in remove and not also(name)
    )
