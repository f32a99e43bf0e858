"""The first Ficus addon of the `request` hook: the request as one reading, then clean.

After mitmproxy has read and validated the whole request (and `proxy.guard` its head):

1. refuse method spellings and request-target forms two servers could read differently, then
   canonicalize the path (400 with the reason if it is ambiguous; `;` path parameters are kept
   for now, and refused or matched without them by the router);
2. strip hop-by-hop headers, every client forwarding claim (`Forwarded`, `X-Forwarded-*`,
   `X-Original-URL`, `True-Client-IP` ..., in any `_`/`-` spelling: `proxy.headers`) and every
   client `X-Ficus-*`, and re-frame a body with `Content-Length` (no chunked framing reaches
   an upstream);
3. read the legacy credential once, where the plans' `legacy_session:` says the legacy app
   keeps it (default the `SESSID` cookie, as the legacy app reads it: `legacy_credential`):
   the cohort, the pins and the identity all use its one session key.

It starts the flow's `FlowState`; the router takes it from there.
"""

from __future__ import annotations

from typing import Final

from mitmproxy import http

from domain.legacy_session import DEFAULT_COOKIE, Credential
from proxy.canonical_path import PathError, canonicalize_path, split_target
from proxy.flow_responses import plain_response
from proxy.flow_state import attach, has_state
from proxy.headers import (
    connection_tokens,
    header_values,
    hop_by_hop_names,
    is_client_claim,
    joined_cookie_crumbs,
    speaks_http2,
    without_headers,
)
from proxy.session_identity import SessionIdentities

# The demo's session cookie (the default `legacy_session:`), which cohorts also name.
SESSION_COOKIE: Final = DEFAULT_COOKIE
# What goes when no Connection header lists more (the common case: computed once).
_REQUEST_DROPPED: Final = hop_by_hop_names(())


class RequestSanitizer:
    def __init__(self, sessions: SessionIdentities | None = None) -> None:
        # Where the legacy credential is read from; the default reader without one.
        self.sessions = sessions if sessions is not None else SessionIdentities()

    def request(self, flow: http.HTTPFlow) -> None:
        if flow.response is not None or has_state(flow):
            return  # answered by another addon, or a replay we have already handled
        state = attach(flow)
        request = flow.request
        http2 = speaks_http2(flow.client_conn.alpn)
        try:
            state.path, state.query = canonical_target(request, http2=http2)
        except PathError as e:
            state.error = "bad_request"
            flow.response = plain_response(400, f"Bad Request: {e}", request.data.path)
            return
        state.forwarded_host = request.host_header
        sanitize_request_headers(request)
        if http2 and (joined := joined_cookie_crumbs(request.data.headers.fields)) is not None:
            request.data.headers.fields = joined  # one Cookie header upstream, as legacy reads it
        # After the sanitizer: a Cookie header named in Connection is gone for legacy as well.
        credential = state.credential = legacy_credential(request, self.sessions)
        state.session_id = credential.key if credential is not None else None


def canonical_target(request: http.Request, *, http2: bool) -> tuple[str, bytes | None]:
    """The canonical path and the untouched query, or PathError with a reason for the client.

    `http2`: the connection's protocol (`speaks_http2`), not the request line's version text."""
    if request.data.method != request.data.method.upper():
        raise PathError("method names are case-sensitive; this one is not upper case")
    if request.first_line_format == "absolute" and not http2:
        raise PathError("absolute-form request targets are not accepted")
    raw_path, query = split_target(request.data.path)
    # `;params` are kept here and refused after routing unless the route's plan allows them.
    return canonicalize_path(raw_path, allow_params=True), query


def legacy_credential(request: http.Request, sessions: SessionIdentities) -> Credential | None:
    """The legacy credential this request carries, read as the legacy app reads it (its raw
    headers), or None if it names no session.

    The proxy's only reading of the legacy session: cohorts, read-your-writes pins and the
    identity bridge all take it from here, so no request is one session for one of them and
    another session for the next.
    """
    return sessions.read(request.data.headers.fields)


def sanitize_request_headers(request: http.Request) -> None:
    headers = request.headers
    fields = headers.fields
    connection = header_values(fields, b"connection")
    close = "close" in connection_tokens(connection)
    remove = hop_by_hop_names(connection) if connection else _REQUEST_DROPPED
    kept = without_headers(fields, remove, is_client_claim)
    if close:
        # Keep the client's wish: mitmproxy reads it to close both hops after this exchange.
        kept += ((b"Connection", b"close"),)
    if kept != fields:
        headers.fields = kept
    # The body is fully read; send it with a Content-Length so no chunked framing travels on.
    content = request.raw_content
    if content is not None and (content or "content-length" in headers or request.trailers):
        request.trailers = None
        headers["Content-Length"] = str(len(content))
