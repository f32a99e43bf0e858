"""A cap on the request bodies the proxy holds at once: over it, 503 with Retry-After.

mitmproxy buffers each request body whole before the `request` hook (the forwarder, the read
fallback and shadow copies all need the whole body), up to `--max-body` each, with no bound on
how many at once: measured before this module, 16 concurrent 10 MiB uploads held open added
162 MiB to the proxy's RSS; now 61 MiB (six fit in the default 64m, ten got 503). Every body
counts against `--max-buffered-bodies` for its whole stay, from its first byte until its
stream is done (answered, failed, or its client gone):

- every body counts as its bytes arrive (mitmproxy already checks a body's size on each read),
  and is refused the moment it no longer fits: the client gets 503 `Service Unavailable: too
  many request bodies are being received at once; retry shortly` in its format, with
  `Retry-After`, and the connection is closed, as mitmproxy does for a 413;
- a body whose length is declared (Content-Length) must also fit when its head arrives, so
  that it is refused before a byte of it is sent. It is not counted before its bytes come: a
  client that declares 10 MiB and sends nothing holds nothing.

The cap is the whole proxy's: with `--workers N` each worker process holds at most its share,
`--max-buffered-bodies` divided by N (`share`, applied by proxy/server.py), since a body is
held by the one worker whose connection it came on.

A body over `--max-body` is still mitmproxy's 413 (checked first). `proxy.byte_budget.Budget`
is the pure core; `install()` wraps mitmproxy 11.0.2's `HttpStream.check_body_size` (where
mitmproxy decides 413 and streaming), `flow_done` and `handle_protocol_error` (where a stream
ends), and a weakref finalizer gives a stream's bytes back if it is dropped any other way.
Requests without a body pay nothing: mitmproxy calls `check_body_size` only when a body follows
the head.

Pinned to mitmproxy 11.0.2 (tests/proxy/test_body_budget.py fails if this stops working).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Generator
from typing import Any, Final

from mitmproxy import ctx, flow
from mitmproxy.addonmanager import Loader
from mitmproxy.net.http.http1 import expected_http_body_size
from mitmproxy.proxy import commands
from mitmproxy.proxy.layers import http as http_layers
from mitmproxy.proxy.layers.http._events import ResponseProtocolError
from mitmproxy.proxy.layers.http._hooks import HttpErrorHook
from mitmproxy.utils import human

from domain.answers import BUSY_TEXT
from proxy.byte_budget import Budget

DEFAULT_LIMIT: Final = "64m"
RETRY_AFTER_SECONDS: Final = 5
STATUS: Final = 503
# What the access logger's error hook knows the refusal by (error_pages.answered_status).
MESSAGE: Final = BUSY_TEXT

_CommandGenerator = Generator[commands.Command, Any, Any]
_HELD: Final = "ficus_body_held"


BUDGET: Final = Budget(human.parse_size(DEFAULT_LIMIT) or 0)


class _Held:
    """One stream's bytes on the budget; given back once (explicitly, or by the finalizer)."""

    __slots__ = ("size",)

    def __init__(self) -> None:
        self.size = 0

    def give_back(self) -> None:
        BUDGET.give(self.size)
        self.size = 0


def _declared(stream: Any) -> int:
    try:
        declared = expected_http_body_size(stream.flow.request)
    except ValueError:
        return 0  # mitmproxy refuses it itself
    return declared if declared is not None and declared > 0 else 0


def refuse(stream: Any, message: str = MESSAGE, status: int = STATUS) -> _CommandGenerator:
    """Refuse a request body being received, as mitmproxy refuses one over body_size_limit:
    the error hook (the access log knows it by `message`), the answer (rendered by
    proxy.mitm_patches.error_pages in the client's format), nothing more read, its held bytes
    given back."""
    stream.flow.error = flow.Error(message)
    yield HttpErrorHook(stream.flow)
    yield http_layers.SendHttp(
        ResponseProtocolError(stream.stream_id, message, status), stream.context.client
    )
    stream.client_state = stream.state_errored
    stream.flow.live = False
    held: _Held | None = stream.__dict__.get(_HELD)
    if held is not None:
        held.give_back()


def _check_body_size(original: Callable[[Any, bool], _CommandGenerator]) -> Callable[..., Any]:
    def wrapper(self: Any, request: bool) -> _CommandGenerator:
        stopped = yield from original(self, request)
        if stopped or not request or self.flow.request.stream:
            return stopped
        buffered = len(self.request_body_buf)
        if not buffered:
            # The head: a declared body must fit next to those held, but counts only as its
            # bytes arrive (a client that declares 10 MiB and sends nothing holds nothing).
            if not BUDGET.fits(_declared(self)):
                yield from refuse(self)
                return True
            return False
        held: _Held | None = self.__dict__.get(_HELD)
        more = buffered - (held.size if held is not None else 0)
        if more <= 0:
            return False
        if not BUDGET.take(more):
            yield from refuse(self)
            return True
        if held is None:
            held = self.__dict__[_HELD] = _Held()
            weakref.finalize(self, held.give_back)
        held.size += more
        return False

    return wrapper


def _give_back_after(original: Callable[..., _CommandGenerator]) -> Callable[..., Any]:
    def wrapper(self: Any, *args: Any) -> _CommandGenerator:
        held: _Held | None = self.__dict__.get(_HELD)
        if held is not None:
            held.give_back()
        return original(self, *args)

    return wrapper


def share(total: str, workers: int) -> str:
    """A worker's part of the proxy's `--max-buffered-bodies` (rounded down, so that the
    workers together never hold more than `total`)."""
    if workers <= 1:
        return total
    return str((human.parse_size(total) or 0) // workers)


def share_too_small(total: str, workers: int, max_body: str) -> str | None:
    """Why a worker's share of `total` could never hold a body `max_body` allows (such a body
    would get a 503 that says "retry" on an idle proxy, every time), or None when it can."""
    per_worker = human.parse_size(share(total, workers)) or 0
    largest = human.parse_size(max_body) or 0
    if per_worker >= largest:
        return None
    return (
        f"--max-buffered-bodies {total} gives each of --workers {workers} {per_worker} bytes, "
        f"less than the largest body --max-body {max_body} allows ({largest} bytes): raise "
        f"--max-buffered-bodies to at least {largest * workers} bytes, or lower --max-body"
    )


class BodyBudget:
    """Declares `ficus_max_buffered_bodies`; the count itself lives in the HTTP layer."""

    def load(self, loader: Loader) -> None:
        loader.add_option(
            "ficus_max_buffered_bodies",
            str,
            DEFAULT_LIMIT,
            "Request body bytes this process may hold at once (e.g. 64m); a body that does not "
            "fit gets 503 with Retry-After. runproxy --workers N gives each worker its share "
            "of --max-buffered-bodies (the total divided by N).",
        )

    def configure(self, updated: set[str]) -> None:
        self.running()

    def running(self) -> None:
        BUDGET.capacity = human.parse_size(ctx.options.ficus_max_buffered_bodies) or 0


def install() -> None:
    """Once per process (idempotent): count every request body against the budget."""
    stream = http_layers.HttpStream
    if getattr(stream, "ficus_body_budget", False):
        return
    stream.check_body_size = _check_body_size(stream.check_body_size)  # type: ignore[method-assign]
    stream.flow_done = _give_back_after(stream.flow_done)  # type: ignore[method-assign]
    stream.handle_protocol_error = _give_back_after(stream.handle_protocol_error)  # type: ignore[method-assign]
    stream.ficus_body_budget = True  # type: ignore[attr-defined]


__all__ = ["BUDGET", "MESSAGE", "RETRY_AFTER_SECONDS", "BodyBudget", "install", "refuse", "share"]
