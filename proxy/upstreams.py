"""Upstream pools: the instances behind each upstream name, picked round-robin.

A plan names its upstream and lists instance URLs (`http://127.0.0.1:8101`); the proxy sends
each request for that upstream to the next instance in turn. Health checks and the circuit
breaker (next issue) will skip unhealthy instances here, behind the same `pick()`.

Pure standard library; instance URLs were validated when the plan was parsed.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit


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


class UpstreamPool:
    def __init__(self, name: str, instances: Iterable[Instance]) -> None:
        self.name = name
        self.instances = tuple(instances)
        if not self.instances:
            raise ValueError(f"upstream {name!r} has no instances")
        self._next: Iterator[Instance] = itertools.cycle(self.instances)

    def pick(self) -> Instance:
        return next(self._next)


def build_pools(instances: Mapping[str, Iterable[str]]) -> dict[str, UpstreamPool]:
    """Pools by upstream name from instance URLs; raises ValueError on a bad URL."""
    return {
        name: UpstreamPool(name, (Instance.parse(url) for url in urls))
        for name, urls in instances.items()
    }
