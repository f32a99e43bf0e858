"""A minimal, fast HTTP/1.1 keep-alive backend for proxy benchmarks.

It answers every request with the same small JSON body, so that the thing measured is the proxy,
not the backend. Run: `python -m bench.backend --port P`; `--delay-ms D` answers each request
D ms late (a slow service, bench/shadow_overhead.py).
"""

from __future__ import annotations

import argparse
import asyncio

BODY = (
    b'{"APPT_ID":1,"PAT_ID":17,"PROV_ID":3,"APPT_DT":"20261121","APPT_TM":"0930","STATUS_CD":"B"}'
)
RESPONSE = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
    + str(len(BODY)).encode()
    + b"\r\n\r\n"
    + BODY
)


class _Handler(asyncio.Protocol):
    delay_seconds = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._buffer = b""

    def data_received(self, data: bytes) -> None:
        # Requests carry no body in the benchmarks: one blank line ends one request.
        self._buffer += data
        count = self._buffer.count(b"\r\n\r\n")
        if count:
            self._buffer = self._buffer[self._buffer.rfind(b"\r\n\r\n") + 4 :]
            answer = RESPONSE * count
            if self.delay_seconds:
                loop = asyncio.get_running_loop()
                loop.call_later(self.delay_seconds, self._write_if_open, answer)
            else:
                self._transport.write(answer)

    def _write_if_open(self, answer: bytes) -> None:
        if not self._transport.is_closing():
            self._transport.write(answer)


async def serve(host: str, port: int, delay_ms: float = 0.0) -> None:
    _Handler.delay_seconds = delay_ms / 1000
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_Handler, host, port, reuse_address=True, backlog=1024)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description="Fast fixed-response HTTP backend for benchmarks.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--delay-ms", type=float, default=0.0, help="answer this late")
    args = parser.parse_args()
    asyncio.run(serve(args.host, args.port, args.delay_ms))


if __name__ == "__main__":
    main()
