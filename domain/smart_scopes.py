"""SMART on FHIR v1 scopes, and what they let a machine client do (pure).

`context/Resource.access`: context is `patient`, `user` or `system`; Resource a FHIR resource
type (`Observation`) or `*`; access `read`, `write` or `*`. A view of the services
names the resource type it serves (`Observation` for /v2/charts and /fhir/Observation), and a
request is allowed iff one granted scope covers that type for its kind of access (read for
the safe methods, write for the rest). Anything else fails closed: an unparseable scope
grants nothing, and a view that names no resource type admits no token.

The services have no SMART launch context (no patient picked by an EHR session), so `patient/`
and `user/` scopes are read as the resource-type grant they name; narrowing a `patient/`
token to one patient's compartment is future work (docs/modern-api.md).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

CONTEXTS: Final = ("patient", "user", "system")
ACCESS: Final = ("read", "write", "*")
_SCOPE_RE: Final = re.compile(r"(patient|user|system)/([A-Z][A-Za-z]+|\*)\.(read|write|\*)")


@dataclass(frozen=True, slots=True)
class Scope:
    context: str
    resource: str  # a FHIR resource type, or "*"
    access: str  # read, write or *

    def covers(self, resource: str, *, write: bool) -> bool:
        wanted = "write" if write else "read"
        return self.resource in (resource, "*") and self.access in (wanted, "*")

    def __str__(self) -> str:
        return f"{self.context}/{self.resource}.{self.access}"


def parse_scope(text: str) -> Scope | None:
    """The scope, or None if `text` is not a SMART v1 resource scope."""
    match = _SCOPE_RE.fullmatch(text)
    return Scope(*match.groups()) if match else None


def is_smart_scope(text: str) -> bool:
    return parse_scope(text) is not None


def allows(granted: Iterable[str], resource: str, *, write: bool) -> bool:
    """Whether scopes `granted` allow this access to `resource` ("" : no resource, refused)."""
    if not resource:
        return False
    return any(
        scope is not None and scope.covers(resource, write=write)
        for scope in map(parse_scope, granted)
    )


def needed(resource: str, *, write: bool) -> str:
    """The narrowest system scope that would allow the access, for WWW-Authenticate."""
    return f"system/{resource}.{'write' if write else 'read'}"
