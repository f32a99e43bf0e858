"""The RPC routes of one method and path shape, looked up by (protocol, method name) (pure).

Exact names by one dict probe; `prefix.*` patterns after them, longest prefix first, so
`model.party.party.*` beats `model.*`. Two routes with the same protocol and pattern would
match the same calls with nothing to choose between them: building the index with both is an
error, like two templates of the same shape in `domain.routing`.
"""

from __future__ import annotations

from typing import Generic, TypeVar

from domain.routes import RPC_WILDCARD, RpcMatch

T = TypeVar("T")


class RpcIndex(Generic[T]):
    __slots__ = ("_described", "exact", "prefixes")

    def __init__(self) -> None:
        self.exact: dict[tuple[str, str], T] = {}
        self.prefixes: list[tuple[str, str, T]] = []
        self._described: dict[tuple[str, str], str] = {}

    def add(self, rpc: RpcMatch, described: str, value: T) -> None:
        """Add one route's value; `described` names the route in errors."""
        pattern = rpc.method
        if not pattern or RPC_WILDCARD in pattern[:-1]:
            raise ValueError(f"{described}: '*' may only end a method pattern")
        key = (rpc.protocol, pattern)
        if (other := self._described.get(key)) is not None:
            raise ValueError(f"{described} overlaps {other}: both match exactly the same calls")
        self._described[key] = described
        if pattern.endswith(RPC_WILDCARD):
            self.prefixes.append((rpc.protocol, pattern[:-1], value))
            self.prefixes.sort(key=lambda entry: -len(entry[1]))
        else:
            self.exact[key] = value

    def find(self, protocol: str, name: str) -> T | None:
        value = self.exact.get((protocol, name))
        if value is not None:
            return value
        for known, prefix, candidate in self.prefixes:
            if known == protocol and name.startswith(prefix):
                return candidate
        return None
