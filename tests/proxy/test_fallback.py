"""The fallback's second try on its own: the headers legacy gets, a real loopback backend."""

from __future__ import annotations

import asyncio
import socket

import pytest

from proxy.fallback import LegacyRetry, LegacyRetryError, retry_headers
from proxy.upstreams import Instance
from tests.support.backends import recording_backend
from tests.support.ports import LOOPBACK, free_port


@pytest.fixture
def anyio_backend():
    return "asyncio"


def test_legacy_gets_the_services_headers_minus_identity_host_and_hop_by_hop():
    fields = [
        (b"Host", b"127.0.0.1:8101"),
        (b"Cookie", b"SESSID=abc"),
        (b"X-Ficus-Identity", b"v1.x.y"),
        (b"x-ficus-identity", b"v1.again"),
        (b"X-Ficus-Request-Id", b"r1"),
        (b"Connection", b"close, X-Hop"),
        (b"X-Hop", b"1"),
        (b"Keep-Alive", b"timeout=5"),
        (b"Expect", b"100-continue"),
        (b"Accept", b"application/json"),
    ]
    assert retry_headers(fields, "legacy.internal:8001") == [
        (b"Host", b"legacy.internal:8001"),
        (b"Cookie", b"SESSID=abc"),
        (b"X-Ficus-Request-Id", b"r1"),
        (b"Accept", b"application/json"),
    ]


@pytest.mark.anyio
async def test_it_sends_the_request_as_given_and_reads_the_answer_raw():
    retry = LegacyRetry()
    with recording_backend("legacy") as legacy:
        legacy.answer("/api/x", status=404, body=b"nope", headers=(("X-Legacy", "1"),))
        try:
            answer = await retry.send(
                Instance("http", LOOPBACK, legacy.port),
                "GET",
                b'/api/x?q=%C3%A9&r=%2F"',
                [(b"Accept", b"*/*")],
                b"",
            )
        finally:
            retry.close()
    assert (answer.status_code, answer.reason, answer.body) == (404, b"Not Found", b"nope")
    assert (b"X-Legacy", b"1") in answer.headers
    (received,) = legacy.requests
    assert received.path == '/api/x?q=%C3%A9&r=%2F"'  # byte for byte: nothing re-encoded
    assert received.header("Host") == f"{LOOPBACK}:{legacy.port}"
    assert received.header("User-Agent") is None  # nothing the client did not send


@pytest.mark.anyio
async def test_a_target_the_first_hop_could_not_send_is_never_re_encoded_for_legacy():
    retry = LegacyRetry()
    with recording_backend("legacy") as legacy:
        with pytest.raises(LegacyRetryError):
            await retry.send(
                Instance("http", LOOPBACK, legacy.port), "GET", b"/api/x?q=\xc3\xa9", [], b""
            )
        retry.close()
        assert legacy.requests == []


@pytest.mark.anyio
async def test_nobody_listening_is_a_failure_that_quotes_nothing():
    retry = LegacyRetry()
    with pytest.raises(LegacyRetryError) as info:
        await retry.send(Instance("http", LOOPBACK, free_port()), "GET", b"/x", [], b"")
    assert LOOPBACK not in str(info.value)
    retry.close()


@pytest.mark.anyio
async def test_a_legacy_app_that_never_answers_fails_at_the_deadline():
    # Accepts connections (the kernel's backlog) but never reads or answers.
    with socket.create_server((LOOPBACK, 0)) as silent:
        retry = LegacyRetry(timeout=0.2)
        with pytest.raises(LegacyRetryError):
            await retry.send(
                Instance("http", LOOPBACK, silent.getsockname()[1]), "GET", b"/x", [], b""
            )
        retry.close()


@pytest.mark.anyio
async def test_close_closes_the_kept_alive_connection():
    with socket.create_server((LOOPBACK, 0)) as server:
        retry = LegacyRetry()
        sending = asyncio.ensure_future(
            retry.send(Instance("http", LOOPBACK, server.getsockname()[1]), "GET", b"/", [], b"")
        )
        conn, _ = await asyncio.to_thread(server.accept)
        with conn:
            await asyncio.to_thread(conn.recv, 65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            assert (await sending).body == b"ok"  # kept alive: the connection stays open
            retry.close()
            conn.settimeout(5)
            assert await asyncio.to_thread(conn.recv, 65536) == b""  # closed by the proxy


def test_closing_an_unused_client_does_nothing():
    LegacyRetry().close()
