"""Upstream pools: instances picked round-robin, skipping the unhealthy and the broken.

A plan names its upstream and lists instance URLs (`http://127.0.0.1:8101`); the proxy sends
each request for that upstream to the next instance in turn (`UpstreamPool.pick()`). Two kinds
of evidence take an instance out of the rotation:

- **active health checks** (`HealthSettings`, plan `upstream.health`): the forwarder probes
  each instance's health path every `interval_seconds`; `unhealthy_after` failed probes in a row
  mark it down, `healthy_after` good ones bring it back;
- **a circuit breaker** per instance (`Breaker`), fed by real traffic: `failures` consecutive
  5xx answers or connect failures open it, so requests stop going there at once; after
  `cooldown_seconds` exactly one request is let through as a half-open probe, whose success
  closes the breaker and whose failure opens it for another cool-down.

When every instance of a pool is out, `pick()` still answers (the next one in turn) instead of
failing: a pool that is wholly down is no worse off being tried, and the forwarder's breaker
check then refuses quickly with a 503 while the breaker is open.

The state of an instance lives in an `InstanceStates` registry keyed by the instance, not in
the pool, so a hot reload that rebuilds the pools keeps what the proxy has learned. Pure
standard library: the probing itself (I/O) is done by proxy.forwarder; instance URLs were
validated when the plan was parsed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Final, Protocol
from urllib.parse import urlsplit

DEFAULT_BREAKER_FAILURES: Final = 5
DEFAULT_BREAKER_COOLDOWN_SECONDS: Final = 10.0


@dataclass(frozen=True, slots=True)
class Instance:
    scheme: str
    host: str
    port: int

    @classmethod
    def parse(cls, url: str) -> Instance:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{url!r} is not an http(s)://host[:port] URL")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        return cls(scheme=parts.scheme, host=parts.hostname, port=port)

    @property
    def authority(self) -> str:
        """host[:port] as a Host header says it (the port only when it is not the default)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.authority}"


class HealthLike(Protocol):
    """What a plan's `upstream.health` offers (domain.plans.HealthCheck, contract C1)."""

    @property
    def path(self) -> str: ...
    @property
    def interval_seconds(self) -> float: ...
    @property
    def timeout_seconds(self) -> float: ...
    @property
    def unhealthy_after(self) -> int: ...
    @property
    def healthy_after(self) -> int: ...


@dataclass(frozen=True, slots=True)
class HealthSettings:
    """Active health checks of one pool; the defaults are contract C1's."""

    path: str = "/__ficus/health"
    interval_seconds: float = 2.0
    timeout_seconds: float = 1.0
    unhealthy_after: int = 2
    healthy_after: int = 1

    @classmethod
    def of(cls, health: HealthLike | None) -> HealthSettings:
        if health is None:
            return cls()
        return cls(
            path=health.path,
            interval_seconds=float(health.interval_seconds),
            timeout_seconds=float(health.timeout_seconds),
            unhealthy_after=int(health.unhealthy_after),
            healthy_after=int(health.healthy_after),
        )


class BreakerState(Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class Breaker:
    """A consecutive-failure circuit breaker with a single half-open probe."""

    __slots__ = ("_clock", "_failures", "_opened_at", "cooldown", "state", "threshold")

    def __init__(
        self,
        *,
        threshold: int = DEFAULT_BREAKER_FAILURES,
        cooldown: float = DEFAULT_BREAKER_COOLDOWN_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.threshold = threshold
        self.cooldown = cooldown
        self.state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._clock = clock

    def available(self) -> bool:
        """Would a request be let through now? (No state change: pick() asks this.)"""
        if self.state is BreakerState.CLOSED:
            return True
        if self.state is BreakerState.OPEN:
            return self._clock() - self._opened_at >= self.cooldown
        return False  # half-open: the one probe is already out

    def acquire(self) -> bool:
        """Take the right to send one request; an open breaker past its cool-down lets one
        probe through and is half-open until that probe's outcome is recorded."""
        if self.state is BreakerState.CLOSED:
            return True
        if self.state is BreakerState.OPEN and self._clock() - self._opened_at >= self.cooldown:
            self.state = BreakerState.HALF_OPEN
            return True
        return False

    def record_success(self) -> None:
        self.state = BreakerState.CLOSED
        self._failures = 0

    def record_failure(self) -> None:
        self._failures += 1
        if self.state is BreakerState.HALF_OPEN or self._failures >= self.threshold:
            self.state = BreakerState.OPEN
            self._opened_at = self._clock()

    def release(self) -> None:
        """The request ended with no verdict on the upstream (e.g. the client went away)."""
        if self.state is BreakerState.HALF_OPEN:
            self.state = BreakerState.OPEN  # probe again after another cool-down


class Health:
    """Consecutive probe results of one instance; healthy until proven otherwise."""

    __slots__ = ("_bad", "_good", "healthy")

    def __init__(self) -> None:
        self.healthy = True
        self._good = 0
        self._bad = 0

    def record(self, ok: bool, settings: HealthSettings) -> None:
        if ok:
            self._good, self._bad = self._good + 1, 0
            if not self.healthy and self._good >= settings.healthy_after:
                self.healthy = True
        else:
            self._good, self._bad = 0, self._bad + 1
            if self.healthy and self._bad >= settings.unhealthy_after:
                self.healthy = False


class InstanceStates:
    """Breaker and health of every instance this process talks to, surviving pool rebuilds."""

    def __init__(
        self,
        *,
        threshold: int = DEFAULT_BREAKER_FAILURES,
        cooldown: float = DEFAULT_BREAKER_COOLDOWN_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.threshold = threshold
        self.cooldown = cooldown
        self._clock = clock
        self._breakers: dict[Instance, Breaker] = {}
        self._health: dict[Instance, Health] = {}

    def configure(self, *, threshold: int, cooldown: float) -> None:
        self.threshold, self.cooldown = threshold, cooldown
        for breaker in self._breakers.values():
            breaker.threshold, breaker.cooldown = threshold, cooldown

    def breaker(self, instance: Instance) -> Breaker:
        found = self._breakers.get(instance)
        if found is None:
            found = self._breakers[instance] = Breaker(
                threshold=self.threshold, cooldown=self.cooldown, clock=self._clock
            )
        return found

    def health(self, instance: Instance) -> Health:
        found = self._health.get(instance)
        if found is None:
            found = self._health[instance] = Health()
        return found

    def breaker_states(self) -> list[tuple[str, str]]:
        """(instance URL, breaker state) of every instance seen so far (the metrics' gauge)."""
        return [(instance.url, b.state.value) for instance, b in list(self._breakers.items())]

    def usable(self, instance: Instance) -> bool:
        health = self._health.get(instance)
        if health is not None and not health.healthy:
            return False
        breaker = self._breakers.get(instance)
        return breaker is None or breaker.available()


# One per proxy process: the forwarder and every pool built by build_pools share it.
STATES: Final = InstanceStates()


class UpstreamPool:
    def __init__(
        self,
        name: str,
        instances: Iterable[Instance],
        *,
        health: HealthSettings | None = None,
        states: InstanceStates = STATES,
    ) -> None:
        self.name = name
        self.instances = tuple(instances)
        if not self.instances:
            raise ValueError(f"upstream {name!r} has no instances")
        self.health = health or HealthSettings()
        self.states = states
        self._turn = 0

    def pick(self) -> Instance:
        """The next usable instance in turn; if none is usable, simply the next one."""
        count = len(self.instances)
        start = self._turn
        self._turn = (start + 1) % count
        for offset in range(count):
            candidate = self.instances[(start + offset) % count]
            if self.states.usable(candidate):
                return candidate
        return self.instances[start]


def build_pools(
    instances: Mapping[str, Iterable[str]],
    health: Mapping[str, HealthLike | None] | None = None,
    *,
    states: InstanceStates = STATES,
) -> dict[str, UpstreamPool]:
    """Pools by upstream name from instance URLs; raises ValueError on a bad URL."""
    health = health or {}
    return {
        name: UpstreamPool(
            name,
            (Instance.parse(url) for url in urls),
            health=HealthSettings.of(health.get(name)),
            states=states,
        )
        for name, urls in instances.items()
    }
