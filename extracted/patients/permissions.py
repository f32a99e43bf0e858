"""The patients service's access matrix, in one table (extracted.core.permissions).

- read/search: the legacy app's clinical roles. OPER and AUDIT have no clinical access.
- update (demographics): the legacy app's rule, so the billing clerk reads but never edits.
- read_full_ssn: only ADMIN, and only through /v2 (the legacy face always masks, as legacy).
- audit: who may query the access audit: the auditor (reads everything, changes nothing).
"""

from __future__ import annotations

from extracted.core.permissions import ADMIN, AUDIT, BILL, CLIN, SCHED, RolePermissions

PERMISSIONS = RolePermissions(
    {
        "read": {CLIN, SCHED, BILL, ADMIN},
        "update": {CLIN, SCHED, ADMIN},
        "read_full_ssn": {ADMIN},
        "audit": {AUDIT},
    }
)
