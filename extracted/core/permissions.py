"""Per-role permissions, declared by each service in one table.

A service writes its whole access matrix once, e.g.

    PERMISSIONS = RolePermissions({"read": {"CLIN", "SCHED", "BILL", "ADMIN"}, "audit": {"AUDIT"}})

and every face reads from it: the legacy views with `require_identity(*PERMISSIONS.roles("read"))`
(or `require_permission(PERMISSIONS, "read")`), the /v2 API with `PERMISSIONS.allows(role, ...)`.
One table means the matrix can be reviewed and tested in one place, the way the legacy app keeps
its own (demo/legacy/roles.py). Asking for an action the table does not name is a programming
error and fails loudly instead of silently denying (or allowing) everyone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Concatenate, ParamSpec

from django.http import HttpRequest, HttpResponse

from extracted.core.identity import IdentifiedRequest, require_identity

P = ParamSpec("P")

# Role codes (contract C5): the legacy app's four, and Ficus's operator and auditor.
CLIN, SCHED, BILL, ADMIN, OPER, AUDIT = "CLIN", "SCHED", "BILL", "ADMIN", "OPER", "AUDIT"
ALL_ROLES = frozenset({CLIN, SCHED, BILL, ADMIN, OPER, AUDIT})


class RolePermissions:
    """action → the roles that may perform it (immutable once built)."""

    def __init__(self, table: Mapping[str, Iterable[str]]) -> None:
        self._table = {action: frozenset(roles) for action, roles in table.items()}
        for action, roles in self._table.items():
            unknown = roles - ALL_ROLES
            if unknown:
                raise ValueError(f"action {action!r} names unknown roles {sorted(unknown)}")

    def roles(self, action: str) -> tuple[str, ...]:
        try:
            return tuple(sorted(self._table[action]))
        except KeyError:
            raise KeyError(f"no permission declared for action {action!r}") from None

    def allows(self, role: str, action: str) -> bool:
        return role in self.roles(action)

    def actions(self) -> tuple[str, ...]:
        return tuple(self._table)


def require_permission(
    permissions: RolePermissions, action: str
) -> Callable[
    [Callable[Concatenate[IdentifiedRequest, P], HttpResponse]],
    Callable[Concatenate[HttpRequest, P], HttpResponse],
]:
    """`require_identity` with the roles the table gives `action`."""
    return require_identity(*permissions.roles(action))
