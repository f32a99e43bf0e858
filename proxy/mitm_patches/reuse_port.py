"""SO_REUSEPORT for the listening socket of a worker of `runproxy --workers N`.

Each worker binds the same port and the kernel spreads new connections over their accept
queues. mitmproxy 11.0.2 binds a reverse-mode socket in one place, `ReverseInstance.listen`
(tests/proxy/test_workers.py fails if a new mitmproxy stops calling it); this replaces that
one method. Listed in proxy/mitm_patches/__init__.py.
"""

from __future__ import annotations

import asyncio
from typing import Any, Final

from mitmproxy.proxy import mode_servers

LISTEN_BACKLOG: Final = 1024


async def _listen_reuse_port(
    self: mode_servers.AsyncioServerInstance[Any], host: str, port: int
) -> list[asyncio.Server]:
    """`AsyncioServerInstance.listen` for a reverse-mode TCP server, with SO_REUSEPORT."""
    return [
        await asyncio.start_server(
            self.handle_stream, host, port, reuse_port=True, backlog=LISTEN_BACKLOG
        )
    ]


def install() -> None:
    mode_servers.ReverseInstance.listen = _listen_reuse_port  # type: ignore[method-assign,assignment]
