"""The route table: method + path template + handler + the roles allowed to call it.

Templates look like `/api/appointments/{id}/cancel`; `{id}` matches ASCII digits only, so a
non-numeric id does not match any route and the API answers NO SUCH SERVICE, as the contract
says. Access is declared next to each route rather than checked inside handlers, so the whole
access matrix can be read (and tested) in one place.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum

from sqlalchemy import Engine

from demo.legacy.auth import Session
from demo.legacy.http import Request, Response

_PARAM = re.compile(r"\{([a-z_]+)\}")


@dataclass(frozen=True)
class Ctx:
    """What a handler gets: the request, the database, one clock reading, and who is asking."""

    request: Request
    engine: Engine
    now: datetime
    session: Session | None
    params: dict[str, int] = field(default_factory=dict)

    @property
    def user(self) -> Session:
        """The session of a route that requires one (the dispatcher guarantees it)."""
        if self.session is None:
            raise RuntimeError("handler of a public route asked for the session")
        return self.session


Handler = Callable[[Ctx], Response]


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    handler: Handler
    roles: frozenset[str] | None  # None: public (login page, static files)
    pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Templates are plain path segments (letters, `/`, `_`), so only `{name}` needs translating.
        regex = _PARAM.sub(lambda m: f"(?P<{m.group(1)}>[0-9]+)", self.template)
        object.__setattr__(self, "pattern", re.compile(regex))

    def match(self, path: str) -> dict[str, int] | None:
        found = self.pattern.fullmatch(path)
        if found is None:
            return None
        return {name: _to_id(digits) for name, digits in found.groupdict().items()}


def _to_id(digits: str) -> int:
    # Absurdly long ids cannot exist; cap them rather than let int() parse thousands of digits.
    return int(digits) if len(digits.lstrip("0")) <= 18 else 10**18


class Match(Enum):
    NONE = "none"  # no template matches the path
    PATH = "path"  # a template matches, but not for this method
    FULL = "full"


def resolve(
    routes: Sequence[Route], method: str, path: str
) -> tuple[Match, Route | None, dict[str, int]]:
    """The route for this method and path; HEAD is served by the GET route."""
    wanted = "GET" if method == "HEAD" else method
    path_matched = False
    for route in routes:
        params = route.match(path)
        if params is None:
            continue
        if route.method == wanted:
            return Match.FULL, route, params
        path_matched = True
    return (Match.PATH if path_matched else Match.NONE), None, {}


def allowed_methods(routes: Sequence[Route], path: str) -> list[str]:
    return sorted({route.method for route in routes if route.match(path) is not None})
