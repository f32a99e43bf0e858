"""A minimal, fast HTTP/1.1 keep-alive backend for proxy benchmarks.

It answers every request with the same small JSON body, so that the thing measured is the proxy,
not the backend. Run: `python -m bench.backend --port P`.
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
            self._transport.write(RESPONSE * count)


async def serve(host: str, port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_Handler, host, port, reuse_address=True, backlog=1024)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description="Fast fixed-response HTTP backend for benchmarks.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    asyncio.run(serve(args.host, args.port))


if __name__ == "__main__":
    main()
