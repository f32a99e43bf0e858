"""A deadline for request bodies, on Apache mod_reqtimeout's model: 408 for a body that lags.

mitmproxy 11.0.2 reads a request body for as long as its client keeps sending: its only deadline is
the connection's 10-minute idle watchdog, which every byte re-arms. A body sent at 1 byte/s kept its
connection, and its bytes on the body budget (proxy/mitm_patches/body_budget.py), for as long as the
client liked. Now, as mod_reqtimeout's `body=20,MinRate=500`:

- a body has `--body-timeout` seconds (default `BODY_TIMEOUT_SECONDS`) from its head's
  arrival, plus one more second for every `--body-min-rate` bytes (default `BODY_MIN_RATE`)
  received so far; a client that keeps up with the rate never runs out, one that falls
  behind it does;
- a body that runs out is refused like one over the budget
  (`proxy.mitm_patches.body_budget.refuse`): 408 `Request Timeout: the request body did not arrive
  in time` in the client's format (domain/answers.py), the connection closed, the error hook
  (access-logged with error `body_timeout`, nobody's failure: no route was decided), its budget
  bytes given back at once.

Checked when a body's bytes arrive (one subtraction) and by a mitmproxy wakeup at most a
second apart while a body is still arriving (a wakeup keeps its stream and the flow's body
alive until it fires, and mitmproxy cannot cancel one: so no more than a second after the body
is whole). HTTP/1 and HTTP/2 alike: it lives in the
HTTP stream, where the budget counts. `install()` wraps mitmproxy 11.0.2's
`HttpStream.check_body_size` (called at the head of a request with a body and on each of its
reads) and `HttpStream._handle_event` (for the wakeup); after `body_budget.install()`, so a
body the budget refuses never gets a deadline.

Pinned to mitmproxy 11.0.2 (tests/proxy/test_body_deadline.py fails if this stops working).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator
from typing import Any, Final

from mitmproxy import ctx, exceptions
from mitmproxy.addonmanager import Loader
from mitmproxy.proxy import commands, events
from mitmproxy.proxy.layers import http as http_layers

from proxy.mitm_patches import body_budget

# mod_reqtimeout's defaults: time for a client to start, and a rate any clinic link keeps.
BODY_TIMEOUT_SECONDS: Final = 20.0
BODY_MIN_RATE: Final = 500
STATUS: Final = 408
# What the access logger's error hook knows the refusal by (error_pages.answered_status).
MESSAGE: Final = "the request body did not arrive in time"
_LIMITS: Final = {"timeout": BODY_TIMEOUT_SECONDS, "rate": float(BODY_MIN_RATE)}

_CommandGenerator = Generator[commands.Command, Any, Any]
_CLOCK: Final = "ficus_body_clock"
_TICK: Final = 1.0  # seconds: the longest a deadline wakeup waits


def deadline(started: float, received: int, timeout: float, min_rate: float) -> float:
    """When a body started at `started` with `received` bytes in runs out of time."""
    return started + timeout + received / min_rate


class _BodyWakeup(commands.RequestWakeup):
    """A stream's deadline wakeup (its own type: HttpStream has no other)."""


class _Clock:
    __slots__ = ("started", "wakeup")

    def __init__(self, started: float) -> None:
        self.started = started
        self.wakeup: _BodyWakeup | None = None


def _left(stream: Any, clock: _Clock) -> float:
    received = len(stream.request_body_buf)
    ends = deadline(clock.started, received, _LIMITS["timeout"], _LIMITS["rate"])
    return ends - time.monotonic()


def _arm(clock: _Clock, delay: float) -> _CommandGenerator:
    # A pending wakeup keeps its stream, and so the flow and its body, alive until it fires
    # (mitmproxy cannot cancel one): never more than a tick after the body is whole.
    clock.wakeup = _BodyWakeup(min(delay, _TICK))
    yield clock.wakeup


def _refuse(stream: Any) -> _CommandGenerator:
    yield from body_budget.refuse(stream, MESSAGE, STATUS)


def _check_body_size(original: Callable[[Any, bool], _CommandGenerator]) -> Callable[..., Any]:
    def wrapper(self: Any, request: bool) -> _CommandGenerator:
        stopped = yield from original(self, request)
        if stopped or not request:
            return stopped
        clock: _Clock | None = self.__dict__.get(_CLOCK)
        if clock is None:
            # The head of a request with a body: its allowance starts now.
            clock = self.__dict__[_CLOCK] = _Clock(time.monotonic())
            yield from _arm(clock, _LIMITS["timeout"])
            return False
        if _left(self, clock) < 0:
            yield from _refuse(self)
            return True
        return False

    return wrapper


def _woken(stream: Any, clock: _Clock) -> _CommandGenerator:
    clock.wakeup = None
    if stream.client_state != stream.state_consume_request_body:
        return  # the body is whole (or refused, or streamed): nothing to time
    left = _left(stream, clock)
    if left > 0:
        yield from _arm(clock, left)  # the bytes since bought more time
        return
    yield from _refuse(stream)


def _nothing() -> _CommandGenerator:
    yield from ()


def _handle_event(original: Callable[[Any, Any], _CommandGenerator]) -> Callable[..., Any]:
    def wrapper(self: Any, event: Any) -> _CommandGenerator:
        if type(event) is events.Wakeup and type(event.command) is _BodyWakeup:
            clock: _Clock | None = self.__dict__.get(_CLOCK)
            if clock is not None and event.command is clock.wakeup:
                return _woken(self, clock)
            return _nothing()  # a stale wakeup
        return original(self, event)

    return wrapper


class BodyDeadline:
    """Declares `ficus_body_timeout` and `ficus_body_min_rate`; the deadline lives in the
    HTTP stream."""

    def load(self, loader: Loader) -> None:
        loader.add_option(
            "ficus_body_timeout",
            float,
            BODY_TIMEOUT_SECONDS,
            "Seconds a client has to send a request body from its head's arrival, one more for "
            "every ficus_body_min_rate bytes received; a body that falls behind gets 408.",
        )
        loader.add_option(
            "ficus_body_min_rate",
            int,
            BODY_MIN_RATE,
            "Bytes of a request body that buy its client one more second (mod_reqtimeout's "
            "MinRate): a body slower than this on average runs out of time.",
        )

    def configure(self, updated: set[str]) -> None:
        timeout = float(ctx.options.ficus_body_timeout)
        rate = int(ctx.options.ficus_body_min_rate)
        if not timeout > 0:
            raise _options_error(f"ficus_body_timeout must be more than 0 seconds, not {timeout}")
        if rate < 1:
            raise _options_error(f"ficus_body_min_rate must be at least 1 byte, not {rate}")
        _LIMITS["timeout"] = timeout
        _LIMITS["rate"] = float(rate)


def _options_error(message: str) -> exceptions.OptionsError:
    return exceptions.OptionsError(message)  # type: ignore[no-untyped-call]  # not annotated


def install() -> None:
    """Once per process (idempotent): give every request body its deadline. After
    `body_budget.install()`."""
    stream = http_layers.HttpStream
    if getattr(stream, "ficus_body_deadline", False):
        return
    stream.check_body_size = _check_body_size(stream.check_body_size)  # type: ignore[method-assign]
    stream._handle_event = _handle_event(stream._handle_event)  # type: ignore[method-assign]
    stream.ficus_body_deadline = True  # type: ignore[attr-defined]


__all__ = [
    "BODY_MIN_RATE",
    "BODY_TIMEOUT_SECONDS",
    "MESSAGE",
    "BodyDeadline",
    "deadline",
    "install",
]
