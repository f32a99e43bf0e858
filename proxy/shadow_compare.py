"""Pairing one flow's answers for comparison, on the event loop: no comparing happens here.

A shadowed flow gets one `Exchange` (kept in its `FlowState`). It waits for the parts it was
promised: legacy's answer (the addon's `response` hook), the service's copy, and, for a sampled
idempotent read, legacy's second answer (noise). Each part arrives once, in any order; the last
one hands the whole exchange to `offer` (the evidence recorder's bounded queue), which never
blocks. A flow that never gets its legacy answer (the client left, legacy failed) is never
offered and goes with the flow: nothing to clean up, no table of pending flows to bound.

A copy that failed or timed out is a `None` part, and so is legacy's when the forwarder failed
it (legacy down, its breaker open: the response is Ficus's own error page, never paired): the
recorder counts it as an error outcome, never as a difference. Bodies are held only up to the
sender's byte budget; a larger one is a `Reply` with `too_large`, compared as "body not
compared" (`domain.noise.NOT_COMPARED`) and never read into memory beyond it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from proxy.upstream_client import Answer


@dataclass(frozen=True, slots=True)
class Reply:
    """One answer as compared: status, headers as received, body within the budget."""

    status: int
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes
    too_large: bool = False

    @property
    def size(self) -> int:
        return len(self.body)


def flow_reply(
    status: int, fields: Sequence[tuple[bytes, bytes]], body: bytes | None, max_body_bytes: int
) -> Reply:
    """Legacy's answer as the client got it; a body over the budget is not copied, and one
    not held at all (None: streamed) is compared as too large too."""
    too_large = body is None or len(body) > max_body_bytes
    return Reply(status, _headers(fields), b"" if too_large or body is None else body, too_large)


def answer_reply(answer: Answer | None) -> Reply | None:
    """A copy's answer (None: the copy failed), its body already bounded by the sender."""
    if answer is None:
        return None
    return Reply(answer.status_code, _headers(answer.headers), answer.body, answer.body_truncated)


def sampled(request_id: str, percent: float) -> bool:
    """Whether this request is in the `percent` share, drawn from other digits of its id than
    `proxy.shadow.should_shadow` uses, so the two samples are independent."""
    if percent >= 100:
        return True
    try:
        draw = int(request_id[8:16], 16) % 10_000
    except ValueError:
        return False
    return draw < percent * 100


def _headers(fields: Sequence[tuple[bytes, bytes]]) -> tuple[tuple[bytes, bytes], ...]:
    return tuple(fields)  # decoded in the recorder's thread, not here


@dataclass(slots=True, eq=False)
class Exchange:
    """One shadowed flow's answers; `write` is a dry-run write (compared as one)."""

    feature: str
    method: str
    template: str
    write: bool
    offer: Callable[[Exchange], object]
    noise_asked: bool = False
    legacy: Reply | None = None
    service: Reply | None = None
    noise: Reply | None = None
    _arrived: set[str] = field(default_factory=set)

    def settle(self, part: str, reply: Reply | None) -> None:
        """One part arrived (None: it failed); the last one offers the exchange."""
        if part in self._arrived:
            return  # a part arrives once (a replayed hook changes nothing)
        self._arrived.add(part)
        setattr(self, part, reply)
        if self.complete:
            self.offer(self)

    @property
    def complete(self) -> bool:
        wanted = ("legacy", "service", "noise") if self.noise_asked else ("legacy", "service")
        return self._arrived.issuperset(wanted)

    @property
    def size(self) -> int:
        return sum(r.size for r in (self.legacy, self.service, self.noise) if r is not None)
