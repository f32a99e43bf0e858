"""The forwarder's HTTP/1.1 client against real asyncio servers on loopback.

Keep-alive reuse, the only retry it makes (an idempotent request whose idle pooled connection
the upstream had closed), and that a POST is never sent twice; plus the pure header helper.
"""

from __future__ import annotations

import asyncio

import pytest

from proxy.forwarder import UpstreamClient, UpstreamError, response_headers
from proxy.upstreams import Instance

ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


@pytest.fixture
def anyio_backend():
    return "asyncio"


class Upstream:
    """Answers requests on keep-alive connections; can read a request and close without
    answering (`drop`), or do that only to a connection's second request (`drop_second`: the
    race of a keep-alive connection the upstream closes just as the proxy reuses it)."""

    def __init__(self, *, drop_second: bool = False, drop: bool = False) -> None:
        self.drop_second = drop_second
        self.drop = drop
        self.connections = 0
        self.requests: list[bytes] = []
        self.writers: list[asyncio.StreamWriter] = []
        self.server: asyncio.Server | None = None

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.writers.append(writer)
        served = 0
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                await reader.readexactly(length)
                self.requests.append(head.split(b"\r\n")[0])
                if self.drop or (self.drop_second and served == 1):
                    break
                writer.write(ANSWER)
                await writer.drain()
                served += 1
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()

    async def __aenter__(self) -> Instance:
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        return Instance("http", "127.0.0.1", self.server.sockets[0].getsockname()[1])

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        for writer in self.writers:
            writer.close()
        await self.server.wait_closed()
        # Let both ends' transports finish closing before the test's loop ends.
        for _ in range(3):
            await asyncio.sleep(0)


def client(instance: Instance) -> UpstreamClient:
    return UpstreamClient(instance, connect_timeout=2, read_timeout=2)


HOST = [(b"Host", b"upstream")]


@pytest.mark.anyio
async def test_two_requests_share_one_kept_alive_connection():
    upstream = Upstream()
    async with upstream as instance:
        c = client(instance)
        first = await c.send(b"GET", b"/a", HOST, b"")
        second = await c.send(b"GET", b"/b", HOST, b"")
        c.close()
    assert (first.status_code, first.body, second.body) == (200, b"ok", b"ok")
    assert upstream.connections == 1


@pytest.mark.anyio
async def test_a_get_on_a_connection_closed_while_idle_goes_again_on_a_fresh_one():
    upstream = Upstream(drop_second=True)
    async with upstream as instance:
        c = client(instance)
        await c.send(b"GET", b"/a", HOST, b"")
        answer = await c.send(b"GET", b"/b", HOST, b"")
        c.close()
    assert answer.status_code == 200
    assert upstream.requests == [b"GET /a HTTP/1.1", b"GET /b HTTP/1.1", b"GET /b HTTP/1.1"]
    assert upstream.connections == 2


@pytest.mark.anyio
async def test_a_post_on_a_connection_closed_while_idle_is_not_sent_again():
    upstream = Upstream(drop_second=True)
    async with upstream as instance:
        c = client(instance)
        await c.send(b"GET", b"/a", HOST, b"")
        with pytest.raises(UpstreamError) as info:
            await c.send(b"POST", b"/b", [*HOST, (b"Content-Length", b"2")], b"{}")
        c.close()
    assert info.value.reason == "upstream_reset"
    assert upstream.requests == [b"GET /a HTTP/1.1", b"POST /b HTTP/1.1"]
    assert upstream.connections == 1  # no second connection, no second POST


@pytest.mark.anyio
async def test_a_post_the_upstream_drops_unanswered_is_sent_exactly_once():
    upstream = Upstream(drop=True)
    async with upstream as instance:
        c = client(instance)
        with pytest.raises(UpstreamError) as info:
            await c.send(b"POST", b"/b", [*HOST, (b"Content-Length", b"2")], b"{}")
        c.close()
    assert info.value.reason == "upstream_reset"
    assert upstream.requests == [b"POST /b HTTP/1.1"]


def test_response_headers_drop_hop_by_hop_and_reframe_the_body():
    raw = [
        (b"Content-Type", b"application/json"),
        (b"Transfer-Encoding", b"chunked"),
        (b"Connection", b"keep-alive, X-Secret"),
        (b"X-Secret", b"internal"),
        (b"Keep-Alive", b"timeout=5"),
    ]
    assert response_headers(raw, 12) == [
        (b"Content-Type", b"application/json"),
        (b"Content-Length", b"12"),
    ]
    head = [(b"Content-Length", b"99")]
    assert response_headers(head, None) == head  # HEAD/204/304: the upstream's length stays
