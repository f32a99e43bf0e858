"""Request bodies held at once are capped per proxy process (proxy/mitm_patches/body_budget.py).

A real proxy with `--max-body 8m --max-buffered-bodies 24m` and a raw recording backend: of
twelve 8 MiB uploads held open at once, three fit and are held (the proxy's RSS, from /proc,
grows by about their size, not twelve times it); the other nine get 503 with Retry-After in
their face's format at once, before their bodies are sent. The three then finish and reach the
backend whole; the bytes are given back, also by an upload whose client went away; a body
counts as its bytes arrive (declaring one holds nothing), also a chunked one.
"""

from __future__ import annotations

import contextlib
import json
import socket
from collections.abc import Iterator

from tests.proxy.processes import (
    answered,
    read_answer,
    recorder_fixtures,
    rss_bytes,
    status_of,
    upload_head,
)
from tests.support.ports import LOOPBACK

MIB = 1 << 20
BODY = 8 * MIB
HOST = b"Host: hospital.example\r\n"


world, w = recorder_fixtures(
    "body-budget", extra_args=["--max-body", "8m", "--max-buffered-bodies", "24m"]
)


@contextlib.contextmanager
def connections(port: int, count: int) -> Iterator[list[socket.socket]]:
    socks = [socket.create_connection((LOOPBACK, port), timeout=20) for _ in range(count)]
    try:
        yield socks
    finally:
        for sock in socks:
            sock.close()


def test_clinicians_uploads_beyond_the_budget_get_503_and_the_rest_are_held(w):
    proxy, backend = w
    before = rss_bytes(proxy.process.pid)
    with connections(proxy.port, 12) as socks:
        held, refused = [], []
        for sock in socks:
            sock.sendall(upload_head(b"/api/uploads", BODY))
            if answered(sock, 1.0):
                refused.append(read_answer(sock))
            else:
                sock.sendall(b"x" * (BODY - 1))  # all but the last byte: the proxy holds it
                held.append(sock)
        assert answered(held[0], 1.0) is False
        grown = rss_bytes(proxy.process.pid) - before
        assert len(held) == 3
        assert len(refused) == 9
        for answer in refused:
            head, body = answer.split(b"\r\n\r\n", 1)
            assert status_of(answer) == 503
            assert b"retry-after: 5" in head.lower()
            assert json.loads(body)["CODE"] == 921  # the legacy shape on /api
            assert b"TOO MANY REQUEST BODIES" in body
        # Three bodies held, not twelve (before the budget: ~96 MiB more).
        assert grown < 48 * MIB
        for sock in held:
            sock.sendall(b"x")
        assert [status_of(read_answer(sock)) for sock in held] == [200, 200, 200]
    assert [len(body) for _request, body in backend.requests()] == [BODY] * 3
    logged = [x for x in proxy.log_lines() if x.get("error") == "bodies_over_budget"]
    assert len(logged) >= 9
    assert {x["status"] for x in logged} == {503}


def test_the_budget_is_given_back_by_an_upload_whose_client_went_away(w):
    proxy, backend = w
    with connections(proxy.port, 3) as gone:
        for sock in gone:
            sock.sendall(upload_head(b"/api/uploads", BODY) + b"x" * MIB)
        assert not any(answered(sock, 0.5) for sock in gone)
    # They left mid-body: their 24 MiB is free again, so three more fit.
    with connections(proxy.port, 3) as socks:
        for sock in socks:
            sock.sendall(upload_head(b"/v2/uploads", BODY))
            assert not answered(sock, 1.0)
            sock.sendall(b"x" * BODY)
        assert [status_of(read_answer(sock)) for sock in socks] == [200, 200, 200]
    assert len(backend.requests()) == 3


def test_an_outsider_who_declares_bodies_and_sends_nothing_holds_nothing(w):
    proxy, backend = w
    with connections(proxy.port, 6) as socks:
        for sock in socks[:5]:
            sock.sendall(upload_head(b"/api/uploads", BODY))  # 40 MiB declared, none sent
        clinician = socks[5]
        clinician.sendall(upload_head(b"/api/uploads", BODY) + b"x" * BODY)
        assert status_of(read_answer(clinician)) == 200
        assert not any(answered(sock, 0) for sock in socks[:5])
    assert len(backend.requests()) == 1


def test_a_chunked_body_is_refused_once_it_no_longer_fits(w):
    proxy, _backend = w
    with connections(proxy.port, 4) as socks:
        for sock, size in zip(socks, (BODY, BODY, 4 * MIB), strict=False):
            sock.sendall(upload_head(b"/api/uploads", size) + b"x" * (size - 1))  # ~20 MiB held
        chunked = socks[3]
        chunked.sendall(
            b"POST /fhir/Binary HTTP/1.1\r\n" + HOST + b"Transfer-Encoding: chunked\r\n\r\n"
        )
        sent = 0
        with contextlib.suppress(OSError):
            while sent < 7 * MIB and not answered(chunked, 0.05):
                chunked.sendall(b"%x\r\n" % (MIB // 4) + b"x" * (MIB // 4) + b"\r\n")
                sent += MIB // 4
        answer = read_answer(chunked)
        # Refused once past the ~4 MiB left, not at --max-body (8m, mitmproxy's 413).
        assert sent < 7 * MIB
        assert status_of(answer) == 503
        assert b"application/fhir+json" in answer.lower()
        assert b"retry-after: 5" in answer.lower()
