"""Access audit (contract C4): who read, searched or changed which record, when, under which rid.

Stored in the service's own database (`class AccessAudit(AccessAuditEntry)` with
`db_table = "ficus_access_audit"`) and shown only to auditors. The row holds the record's id
and nothing else about it, so the audit trail itself carries no PHI; the request id ties it to
the proxy's log line of the same request.

Rows are written in the request's own database transaction where there is one: a dry-run
request (dry_run.py) therefore leaves no audit row either, since it left no effect to audit.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import models, router, transaction

from domain.identity import Identity
from extracted.core.metrics import count_audit_writes

READ, SEARCH, CREATE, UPDATE, CANCEL = "read", "search", "create", "update", "cancel"
ACTIONS = (READ, SEARCH, CREATE, UPDATE, CANCEL)


class AccessAuditEntry(models.Model):
    id = models.BigAutoField(primary_key=True)
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    login = models.CharField(max_length=30)
    role = models.CharField(max_length=5)
    action = models.CharField(max_length=8, choices=[(a, a) for a in ACTIONS])
    record_type = models.CharField(max_length=40)
    record_id = models.CharField(max_length=64, blank=True, default="", db_index=True)
    request_id = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        abstract = True
        ordering = ["id"]

    def __str__(self) -> str:
        return f"audit {self.pk} {self.login} {self.action} {self.record_type} {self.record_id}"


def record_access(
    model: type[AccessAuditEntry],
    identity: Identity,
    action: str,
    record_type: str,
    record_id: str | int | None,
) -> None:
    """One audit row; `record_id` None (a search that found nothing) is stored as ''."""
    record_accesses(model, identity, action, record_type, [record_id])


def record_accesses(
    model: type[AccessAuditEntry],
    identity: Identity,
    action: str,
    record_type: str,
    record_ids: Iterable[str | int | None],
) -> None:
    """One audit row per record (a search that returned a list of them), in one INSERT."""
    if action not in ACTIONS:
        raise ValueError(f"action must be one of {ACTIONS}, not {action!r}")
    rows = [
        model(
            login=identity.login[:30],
            role=identity.role[:5],
            action=action,
            record_type=record_type,
            record_id="" if record_id is None else str(record_id),
            request_id=identity.request_id[:64],
        )
        for record_id in record_ids
    ]
    database = router.db_for_write(model)
    model._default_manager.using(database).bulk_create(rows)
    # Counted once committed: a dry run's rows are rolled back, and so is their count.
    transaction.on_commit(lambda: count_audit_writes(action, len(rows)), using=database)
