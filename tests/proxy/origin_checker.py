"""A legacy app that checks a POST's Origin against its Host, as trytond and Django's CSRF do.

`origin_checker()` serves a small WSGI app on loopback: a POST whose `Origin` names another
host than the request's `Host` gets a 403, as trytond refuses it (Ficus issue 15: a proxy that
rewrites Host made every browser POST fail). Every request's Host and `X-Forwarded-*` headers
are kept, so a test can see what the app was sent.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from socketserver import ThreadingMixIn
from typing import Any
from urllib.parse import urlsplit
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from tests.support.ports import LOOPBACK

_SEEN = ("HTTP_HOST", "HTTP_X_FORWARDED_HOST", "HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_FOR")


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@dataclass
class OriginChecker:
    url: str = ""
    seen: list[dict[str, str]] = field(default_factory=list)

    def app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        self.seen.append({name: environ.get(name, "") for name in _SEEN})
        origin = environ.get("HTTP_ORIGIN")
        host = environ.get("HTTP_HOST", "")
        if environ["REQUEST_METHOD"] == "POST" and origin and urlsplit(origin).netloc != host:
            body = b"Forbidden: Origin does not match Host"
            start_response("403 Forbidden", [("Content-Type", "text/plain")])
            return [body]
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps({"host": host}).encode()]


@contextmanager
def origin_checker() -> Iterator[OriginChecker]:
    checker = OriginChecker()
    server = make_server(
        LOOPBACK, 0, checker.app, server_class=_ThreadingServer, handler_class=_QuietHandler
    )
    checker.url = f"http://{LOOPBACK}:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield checker
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
