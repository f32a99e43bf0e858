"""The forwarder's HTTP/1.1 client against real asyncio servers on loopback.

Keep-alive reuse, the only retry it makes (an idempotent request whose idle pooled connection
the upstream had closed), that a POST is never sent twice, the read timeout as the longest
silence, and that a connection that answered wrongly, talked out of turn or was cancelled is
never reused.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from proxy.upstream_client import UNSENDABLE, UpstreamClient, UpstreamError
from proxy.upstreams import Instance

ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


@pytest.fixture
def anyio_backend():
    return "asyncio"


Script = Callable[[int, asyncio.StreamWriter], Awaitable[None]]


class Upstream:
    """Answers requests on keep-alive connections; can read a request and close without
    answering (`drop`), or do that only to a connection's second request (`drop_second`: the
    race of a keep-alive connection the upstream closes just as the proxy reuses it), or answer
    each request with `script(number of the request on its connection, writer)`."""

    def __init__(
        self, *, drop_second: bool = False, drop: bool = False, script: Script | None = None
    ) -> None:
        self.drop_second = drop_second
        self.drop = drop
        self.script = script
        self.connections = 0
        self.requests: list[bytes] = []
        self.writers: list[asyncio.StreamWriter] = []
        self.handlers: list[asyncio.Task[None]] = []
        self.server: asyncio.Server | None = None

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.writers.append(writer)
        task = asyncio.current_task()
        assert task is not None
        self.handlers.append(task)
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
                if self.script is not None:
                    served += 1
                    await self.script(served, writer)
                    continue
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
        for task in self.handlers:
            task.cancel()  # a script may still be sleeping
        await asyncio.gather(*self.handlers, return_exceptions=True)
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


@pytest.mark.anyio
async def test_a_silent_upstream_times_out_and_its_connection_is_not_kept():
    async def silent(n, writer):
        await asyncio.sleep(5)

    upstream = Upstream(script=silent)
    async with upstream as instance:
        c = UpstreamClient(instance, connect_timeout=2, read_timeout=0.2)
        with pytest.raises(UpstreamError) as info:
            await c.send(b"GET", b"/slow", HOST, b"")
        assert info.value.reason == "upstream_timeout"
        assert c._idle == []
        c.close()


@pytest.mark.anyio
async def test_the_read_timeout_is_the_longest_silence_not_the_whole_answer():
    async def trickle(n, writer):
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n")
        for part in (b"a", b"b", b"c", b"d"):
            await asyncio.sleep(0.15)  # each silence under 0.3 s; all of them over it
            writer.write(part)

    async with Upstream(script=trickle) as instance:
        c = UpstreamClient(instance, connect_timeout=2, read_timeout=0.3)
        answer = await c.send(b"GET", b"/", HOST, b"")
        c.close()
    assert answer.body == b"abcd"


@pytest.mark.anyio
async def test_garbage_is_refused_and_the_connection_dropped():
    async def garbage(n, writer):
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\nok"
        )

    async with Upstream(script=garbage) as instance:
        c = client(instance)
        with pytest.raises(UpstreamError) as info:
            await c.send(b"GET", b"/", HOST, b"")
        assert c._idle == []
        c.close()
    assert info.value.reason == "upstream_garbage"


@pytest.mark.anyio
async def test_a_request_it_cannot_write_is_unsendable_not_the_upstreams_failure():
    upstream = Upstream()
    async with upstream as instance:
        c = client(instance)
        with pytest.raises(UpstreamError) as info:
            await c.send(b"GET", b"/?q=\xff", HOST, b"")
        c.close()
    # Nothing was sent: the forwarder must not count this against the upstream's breaker.
    assert info.value.reason == UNSENDABLE
    assert upstream.connections == 0


@pytest.mark.anyio
async def test_bytes_sent_to_an_idle_connection_keep_it_out_of_the_pool():
    async def answer_then_more(n, writer):
        writer.write(ANSWER)
        await asyncio.sleep(0.1)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nextra")  # unasked

    upstream = Upstream(script=answer_then_more)
    async with upstream as instance:
        c = client(instance)
        first = await c.send(b"GET", b"/a", HOST, b"")
        await asyncio.sleep(0.3)
        second = await c.send(b"GET", b"/b", HOST, b"")
        c.close()
    assert first.body == second.body == b"ok"  # the unasked answer was never read as one
    assert upstream.connections == 2


@pytest.mark.anyio
async def test_a_cancelled_exchange_closes_its_connection():
    async def slow(n, writer):
        await asyncio.sleep(0.5)
        writer.write(ANSWER)

    upstream = Upstream(script=slow)
    async with upstream as instance:
        c = client(instance)
        task = asyncio.get_running_loop().create_task(c.send(b"GET", b"/a", HOST, b""))
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        answer = await c.send(b"GET", b"/b", HOST, b"")
        c.close()
    assert answer.body == b"ok"
    assert upstream.connections == 2  # the late answer to /a was never taken for /b's
