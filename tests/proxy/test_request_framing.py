"""One framing toward the upstream: every request body leaves with a Content-Length.

Through a real proxy process before a raw recording backend (h11 reads exactly what the proxy
wrote): a clinician's chunked upload arrives re-framed with its Content-Length, no
Transfer-Encoding and the same bytes (the smuggling defence of docs/proxy-hardening.md); an
upload that came with a Content-Length arrives as it was sent.
"""

from __future__ import annotations

import hashlib

from tests.proxy.processes import raw_exchange, recorder_fixtures, status_of

world, w = recorder_fixtures("request-framing")

BODY = b"synthetic attachment " * 2000  # 42 KB, nobody's data


def _chunked(body: bytes, size: int = 4096) -> bytes:
    pieces = [body[i : i + size] for i in range(0, len(body), size)]
    return b"".join(b"%x\r\n" % len(p) + p + b"\r\n" for p in pieces) + b"0\r\n\r\n"


def _received_headers(request) -> dict[bytes, list[bytes]]:
    headers: dict[bytes, list[bytes]] = {}
    for name, value in request.headers:
        headers.setdefault(name.lower(), []).append(value)
    return headers


def test_a_chunked_upload_reaches_the_upstream_with_its_content_length(w):
    proxy, backend = w
    head = b"POST /hospital/attachment HTTP/1.1\r\nHost: hospital.example\r\n"
    head += b"Transfer-Encoding: chunked\r\n\r\n"
    assert status_of(raw_exchange(proxy.port, head + _chunked(BODY))) == 200
    request, body = backend.single_request()
    headers = _received_headers(request)
    assert b"transfer-encoding" not in headers
    assert headers[b"content-length"] == [str(len(BODY)).encode()]
    assert hashlib.sha256(body).digest() == hashlib.sha256(BODY).digest()


def test_a_content_length_upload_reaches_the_upstream_as_it_was_sent(w):
    proxy, backend = w
    head = b"POST /hospital/attachment HTTP/1.1\r\nHost: hospital.example\r\nConnection: close\r\n"
    head += b"Content-Length: %d\r\n\r\n" % len(BODY)
    assert status_of(raw_exchange(proxy.port, head + BODY)) == 200
    request, body = backend.single_request()
    headers = _received_headers(request)
    assert b"transfer-encoding" not in headers
    assert headers[b"content-length"] == [str(len(BODY)).encode()]
    assert body == BODY
