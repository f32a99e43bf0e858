"""Role codes and who may do what: the legacy app's whole access-control matrix.

OPER and AUDIT are Ficus's roles. They can log in (and ask `/api/session` who they are) but have
no clinical access: every endpoint that shows patient data refuses them with ACCESS DENIED.
"""

from __future__ import annotations

CLIN = "CLIN"
SCHED = "SCHED"
BILL = "BILL"
ADMIN = "ADMIN"
OPER = "OPER"
AUDIT = "AUDIT"

ANY_USER = frozenset({CLIN, SCHED, BILL, ADMIN, OPER, AUDIT})
READ_CLINICAL = frozenset({CLIN, SCHED, BILL, ADMIN})  # patients and appointments (PHI)
BOOK = frozenset({CLIN, SCHED, ADMIN})  # book, reschedule, cancel
BILLING = frozenset({BILL, ADMIN})  # the billing report

ROLE_NAMES = {
    CLIN: "Clinician",
    SCHED: "Scheduler",
    BILL: "Billing clerk",
    ADMIN: "Administrator",
    OPER: "Operator",
    AUDIT: "Auditor",
}
