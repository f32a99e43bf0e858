"""The mitmproxy responses Ficus puts on a flow: its own answers, and upstreams' answers.

`plain_response` is every answer the proxy makes itself (a refusal, a failure: the guard, the
sanitizer, the router, the identity bridge, the forwarder, the fallback); `answer_response`
turns an upstream's answer (`proxy.upstream_client.Answer`) into the flow's response, minus
hop-by-hop headers and re-framed with the body read (the forwarder's and the fallback's).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Iterable, Mapping
from typing import Final

from mitmproxy import http

from domain.answers import answer as own_answer
from proxy.headers import hop_by_hop_names
from proxy.upstream_client import Answer

NO_BODY_STATUSES: Final = frozenset({204, 304})

# error (access log) -> (status, body); the bodies are fixed and name nothing upstream.
FAILURES: Final[Mapping[str, tuple[int, str]]] = {
    "upstream_connect_timeout": (504, "Gateway Timeout: the upstream did not accept in time"),
    "upstream_timeout": (504, "Gateway Timeout: the upstream did not answer in time"),
    "upstream_refused": (502, "Bad Gateway: the upstream could not be reached"),
    "upstream_reset": (502, "Bad Gateway: the upstream closed the connection"),
    "upstream_garbage": (502, "Bad Gateway: the upstream sent an invalid response"),
    "upstream_unavailable": (503, "Service Unavailable: the upstream is failing, retry later"),
    "upstream_busy": (503, "Service Unavailable: too many requests to the upstream"),
}


def plain_response(
    status: int, text: str, target: bytes, extra: tuple[tuple[bytes, bytes], ...] = ()
) -> http.Response:
    """Every answer the proxy makes itself (a refusal, a failure), in the format of the face
    `target` speaks to (`domain.answers`: legacy JSON on /api, problem+json on /v2, a FHIR
    OperationOutcome on /fhir, HTML elsewhere); `text` is the reason (`Bad Request: why`).

    """
    made = own_answer(status, text, target, extra)
    return http.Response.make(made.status, made.body, http.Headers(made.headers))


def answer_response(answer: Answer, method: str, started: float) -> http.Response:
    """The flow's response for an upstream's answer (the forwarder's and the fallback's)."""
    keep_length = method == "HEAD" or answer.status_code in NO_BODY_STATUSES
    headers = response_headers(answer.headers, None if keep_length else len(answer.body))
    if answer.status_code == 204:
        # A 204 has no body and MUST NOT carry Content-Length (RFC 9110 §8.6).
        headers = [(n, v) for n, v in headers if n.lower() != b"content-length"]
    return http.Response(
        http_version=b"HTTP/1.1",
        status_code=answer.status_code,
        reason=answer.reason,
        headers=http.Headers(headers),
        content=answer.body,
        trailers=None,
        timestamp_start=started,
        timestamp_end=time.time(),
    )


def failure_response(error: str, target: bytes) -> http.Response:
    return plain_response(*FAILURES[error], target)


def response_headers(
    raw: Iterable[tuple[bytes, bytes]], body_length: int | None
) -> list[tuple[bytes, bytes]]:
    """The upstream's headers minus hop-by-hop ones; Content-Length set to the body read, if
    one was read (None keeps the upstream's: HEAD, 204, 304)."""
    fields = list(raw)
    connection = tuple(v for n, v in fields if n.lower() == b"connection")
    drop = _dropped_names(connection, body_length is not None)
    kept = [(n, v) for n, v in fields if n.lower() not in drop]
    if body_length is not None:
        kept.append((b"Content-Length", str(body_length).encode("ascii")))
    return kept


@functools.lru_cache(maxsize=64)
def _dropped_names(connection: tuple[bytes, ...], reframed: bool) -> frozenset[bytes]:
    # Upstreams send the same few Connection values again and again.
    names = hop_by_hop_names(v.decode("latin-1") for v in connection)
    if reframed:
        names = names | {"content-length"}
    return frozenset(name.encode("latin-1") for name in names)
