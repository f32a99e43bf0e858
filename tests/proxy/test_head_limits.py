"""HTTP/1 request heads bounded while they are read (mitm_patches/head_limits.py), via the proxy.

An outsider's unfinished 40 MiB head is refused with 431 once 64 KiB of it is in, without the
proxy buffering the rest (its RSS, from /proc, barely moves); a head trickled byte by byte is
answered 408 once `--head-timeout` is over, never before; an idle keep-alive connection is
closed then, while a clinician's connection that keeps asking stays open. Each answer is in the
format of the face its request line names. The backend is a raw recorder: nothing reaches it.
"""

from __future__ import annotations

import json
import select
import socket
import time

from tests.proxy.processes import raw_exchange, recorder_fixtures, rss_bytes, status_of
from tests.support.ports import LOOPBACK

HEAD_TIMEOUT = 2.0  # seconds, the test proxy's --head-timeout
HOST = b"Host: hospital.example\r\n"
MIB = 1 << 20


world, w = recorder_fixtures("head-limits", extra_args=["--head-timeout", str(HEAD_TIMEOUT)])


def read_all(sock: socket.socket) -> bytes:
    chunks = []
    while True:
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, TimeoutError):
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def refusals(proxy, error: str) -> list[dict[str, object]]:
    return [x for x in proxy.log_lines() if x.get("error") == error]


def body_of(answer: bytes) -> dict[str, object]:
    body: dict[str, object] = json.loads(answer.split(b"\r\n\r\n", 1)[1])
    return body


def test_an_outsiders_unfinished_40_mib_head_gets_431_without_being_buffered(w):
    proxy, backend = w
    before = rss_bytes(proxy.process.pid)
    sent = 0
    with socket.create_connection((LOOPBACK, proxy.port), timeout=10) as sock:
        sock.sendall(b"GET /fhir/Patient HTTP/1.1\r\n" + HOST + b"X-Big: ")
        chunk = b"a" * (64 * 1024)
        try:
            while sent < 40 * MIB:
                sent += sock.send(chunk)
                if select.select([sock], [], [], 0)[0]:
                    break  # answered: stop sending
        except OSError:
            pass  # the proxy closed: its answer is waiting
        answer = read_all(sock)
    grown = rss_bytes(proxy.process.pid) - before
    assert status_of(answer) == 431
    assert b"application/fhir+json" in answer.split(b"\r\n\r\n", 1)[0].lower()
    outcome = body_of(answer)
    assert outcome["resourceType"] == "OperationOutcome"
    assert "larger than 64 KiB" in outcome["issue"][0]["diagnostics"]  # type: ignore[index]
    # Answered long before the end of the head: what was sent beyond 64 KiB sat in socket
    # buffers, never in the proxy's memory (it used to buffer all 40 MiB, and copy it per read).
    assert sent < 40 * MIB
    assert grown < 8 * MIB
    assert backend.exchanges == []
    # One access-log line: who, what status and why; no path and no header value.
    (line,) = refusals(proxy, "head_too_large")
    assert (line["status"], line["method"], line["route"], line["client"]) == (
        431,
        "GET",
        "-",
        LOOPBACK,
    )
    assert "fhir" not in json.dumps(line).lower()
    assert "aaaa" not in json.dumps(line)
    # The proxy is fine, and a head of 60 KiB still passes.
    fine = b"GET /api/x HTTP/1.1\r\n" + HOST + b"X-A: " + b"a" * (60 * 1024) + b"\r\n"
    assert status_of(raw_exchange(proxy.port, fine + b"Connection: close\r\n\r\n")) == 200


def test_a_head_trickled_byte_by_byte_gets_408_once_the_deadline_is_over(w):
    proxy, backend = w
    head = b"GET /v2/patients HTTP/1.1\r\n" + HOST + b"X-Slow: " + b"a" * 400
    started = time.monotonic()
    answer = b""
    with socket.create_connection((LOOPBACK, proxy.port), timeout=10) as sock:
        try:
            for byte in head:
                sock.sendall(bytes([byte]))
                if select.select([sock], [], [], 0.1)[0]:
                    break
        except OSError:
            pass
        answer = read_all(sock)
    elapsed = time.monotonic() - started
    assert status_of(answer) == 408
    assert b"application/problem+json" in answer.lower()
    assert body_of(answer)["status"] == 408
    # Not before the deadline, and well before the trickle would have ended (40 s).
    assert HEAD_TIMEOUT <= elapsed < HEAD_TIMEOUT + 15
    assert backend.exchanges == []
    (line,) = refusals(proxy, "head_timeout")
    assert (line["status"], line["route"], line["client"]) == (408, "-", LOOPBACK)
    assert "patients" not in json.dumps(line)
    assert "aaaa" not in json.dumps(line)


def test_an_idle_keep_alive_connection_is_closed_after_the_deadline(w):
    proxy, _backend = w
    with socket.create_connection((LOOPBACK, proxy.port), timeout=HEAD_TIMEOUT + 15) as sock:
        sock.sendall(b"GET /api/x HTTP/1.1\r\n" + HOST + b"\r\n")
        first = sock.recv(65536)
        assert status_of(first) == 200
        # Nothing more is sent: the proxy closes without an answer (there is no request). It
        # used to keep the connection for mitmproxy's 10 minutes (recv times out).
        assert sock.recv(65536) == b""
    # No request, no refusal: nothing to log but the one request answered.
    assert [x.get("error") for x in proxy.log_lines()[-1:]] == [None]


def test_a_clinicians_connection_that_keeps_asking_stays_open_past_the_deadline(w):
    proxy, backend = w
    with socket.create_connection((LOOPBACK, proxy.port), timeout=10) as sock:
        started = time.monotonic()
        answers = 0
        # Each head comes well within the deadline of the previous answer; the connection
        # lives longer than one deadline.
        while time.monotonic() - started < 2.5 * HEAD_TIMEOUT:
            sock.sendall(b"GET /api/x HTTP/1.1\r\n" + HOST + b"\r\n")
            assert status_of(sock.recv(65536)) == 200
            answers += 1
            time.sleep(HEAD_TIMEOUT / 4)
    assert answers == len(backend.requests()) >= 8
