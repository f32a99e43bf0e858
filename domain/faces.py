"""Modern faces: the path prefixes a service serves that have no legacy counterpart (pure).

A plan's `faces:` names them (`/v2/charts`, `/fhir/Observation`); the control plane's API
(`/control/v1`) and its OAuth2 token endpoint (`/oauth2`) are built in by the proxy when it
knows the control plane's address.
A face matches its prefix and every path below it, for every method, and always goes to its
upstream whatever the phases of the feature's legacy routes: there is no legacy side to send
it to, to shadow or to fall back on (so `decide` never pins, splits or falls back a face).

Writes on a face are forwarded too. Whether the service may make them is the one ownership
rule (`domain.phases.service_owns_writes` via `domain.ownership`), which every service write
already checks (`extracted.core.write_guard`): while legacy owns a record, the service answers
the write 409 in the face's format, and nothing is written. The proxy does not decide it a
second time.

A face route's template is the prefix followed by `/**`, so route stats and access logs carry
that template, never the concrete path. The longest matching prefix wins; a plan route (a
method and a full template) that matches beats any face.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

from domain.phases import Phase
from domain.routes import ANY_METHOD, CATCH_ALL_TEMPLATE, Route

# The roots a plan's faces may live under; the control plane's is built in (CONTROL_FACE).
FACE_ROOTS: Final = ("v2", "fhir")
FACE_SUFFIX: Final = "/**"
CONTROL_FEATURE: Final = "control"
# Not a valid plan upstream name (plans use lower case letters, digits and '_'): no clash.
CONTROL_UPSTREAM: Final = "ficus-control"
CONTROL_FACES: Final = ("/control/v1", "/oauth2")
# Literal segments only: a face is a prefix, not a template with parameters.
_SEGMENT_RE: Final = re.compile(r"[A-Za-z0-9\-._~]+")
_FHIR_TYPE_RE: Final = re.compile(r"[A-Z][A-Za-z]+")


def face_problem(prefix: str) -> str | None:
    """Why `prefix` is not a face a plan may declare, or None if it is one."""
    if not prefix.startswith("/") or prefix.endswith("/"):
        return f"{prefix!r} must start with '/' and not end with one"
    segments = prefix[1:].split("/")
    if segments[0] not in FACE_ROOTS:
        roots = ", ".join(f"/{r}/..." for r in FACE_ROOTS)
        return f"{prefix!r} is not under a modern face root ({roots})"
    if len(segments) < 2:
        return f"{prefix!r} names the whole /{segments[0]} root: name the service's part of it"
    if not all(_SEGMENT_RE.fullmatch(s) for s in segments):
        return f"{prefix!r} must be literal segments (a face is a prefix, not a template)"
    if segments[0] == "fhir" and not _FHIR_TYPE_RE.fullmatch(segments[1]):
        return f"{prefix!r}: the segment after /fhir is a FHIR resource type, like Patient"
    return None


def face_route(feature: str, prefix: str, upstream: str, source: str = "") -> Route:
    """The route of one face: every method, to `upstream`, never to legacy."""
    return Route(
        feature=feature,
        method=ANY_METHOD,
        template=prefix + FACE_SUFFIX,
        upstream=upstream,
        # Retired is the phase with no legacy side: served by the service, never shadowed,
        # never a fallback to legacy (domain.routes.serving_upstream, LEGACY_READABLE_PHASES).
        phase=Phase.RETIRED,
        source=source,
    )


def control_routes() -> tuple[Route, ...]:
    return tuple(
        face_route(CONTROL_FEATURE, face, CONTROL_UPSTREAM, "built-in control face")
        for face in CONTROL_FACES
    )


def is_face(route: Route) -> bool:
    # The legacy default (`/**`) is any method too, but it is the fall-through, not a face.
    return (
        route.method == ANY_METHOD
        and route.template.endswith(FACE_SUFFIX)
        and route.template != CATCH_ALL_TEMPLATE
    )


class FaceIndex:
    """Face routes by prefix; `match(path)` finds the longest prefix of a canonical path."""

    __slots__ = ("_by_prefix", "_depth")

    def __init__(self, routes: Iterable[Route]) -> None:
        self._by_prefix: dict[tuple[str, ...], Route] = {}
        for route in routes:
            key = tuple(route.template[: -len(FACE_SUFFIX)].split("/")[1:])
            if (other := self._by_prefix.get(key)) is not None:
                raise ValueError(
                    f"{route.describe()} is the same face as {other.describe()}: "
                    "one prefix has one service"
                )
            self._by_prefix[key] = route
        self._depth = max((len(k) for k in self._by_prefix), default=0)

    def __bool__(self) -> bool:
        return bool(self._by_prefix)

    def match(self, path: str) -> Route | None:
        segments = path.split("/")[1:]
        for length in range(min(self._depth, len(segments)), 0, -1):
            route = self._by_prefix.get(tuple(segments[:length]))
            if route is not None:
                # `/v2/charts/` (an empty last segment) is still under `/v2/charts`.
                return route
        return None
