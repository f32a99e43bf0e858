"""Who may do what in the appointments service: the whole matrix, in one table.

The legacy face keeps the legacy app's rules exactly (demo/legacy/roles.py): clinicians,
schedulers, billing clerks and administrators may read appointments; clinicians, schedulers and
administrators may book, reschedule and cancel. Operators and auditors have no clinical access.
Only auditors may read the access audit.
"""

from __future__ import annotations

from extracted.core.permissions import ADMIN, AUDIT, BILL, CLIN, SCHED, RolePermissions

READ = "read"
WRITE = "write"
READ_AUDIT = "read_audit"

PERMISSIONS = RolePermissions(
    {
        READ: {CLIN, SCHED, BILL, ADMIN},
        WRITE: {CLIN, SCHED, ADMIN},
        READ_AUDIT: {AUDIT},
    }
)
