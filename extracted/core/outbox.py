"""The transactional outbox (contract C4): every service write leaves a row for reverse sync.

A service that writes its own database must also tell the legacy database, but it cannot
write both atomically. So the write and an outbox row share one transaction of the service's
database (both or neither), and reverse sync reads unprocessed rows afterwards, copies the
record's *current* state to legacy, and stamps `processed_at`. The row names the record, not
its values: no PHI is duplicated, and a burst of edits to one record needs one legacy write.

Each service declares `class Outbox(OutboxEntry)` with `db_table = "ficus_outbox"`, so the
table lives in the service's own database and the router keeps it there.
"""

from __future__ import annotations

from django.db import models, router, transaction

# The operations' names are reverse sync's vocabulary, defined once in legacy_adapter.change_ops.
from legacy_adapter.change_ops import OUTBOX_OPERATIONS


class OutboxEntry(models.Model):
    id = models.BigAutoField(primary_key=True)
    aggregate = models.CharField(max_length=40, help_text="'appointment', 'patient', ...")
    key = models.CharField(max_length=64, help_text="The record's id as text (the legacy id).")
    operation = models.CharField(max_length=8, choices=[(op, op) for op in OUTBOX_OPERATIONS])
    request_id = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.IntegerField(default=0)
    last_error = models.TextField(blank=True, default="")

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"outbox {self.pk} {self.operation} {self.aggregate} {self.key}"


class OutsideTransactionError(RuntimeError):
    """record_change was called outside the write's transaction: the row could be lost."""


def record_change(
    outbox_model: type[OutboxEntry],
    *,
    aggregate: str,
    key: str | int,
    operation: str,
    request_id: str = "",
) -> OutboxEntry:
    """Add the outbox row for one changed record; call it inside the write's transaction."""
    if operation not in OUTBOX_OPERATIONS:
        raise ValueError(f"operation must be one of {OUTBOX_OPERATIONS}, not {operation!r}")
    alias = router.db_for_write(outbox_model)
    # Refuse autocommit: a row committed apart from its write is the very bug an outbox prevents.
    if not transaction.get_connection(alias).in_atomic_block:
        raise OutsideTransactionError(
            f"record_change for {aggregate} {key} outside a transaction on {alias!r}"
        )
    entry: OutboxEntry = outbox_model._default_manager.using(alias).create(
        aggregate=aggregate, key=str(key), operation=operation, request_id=request_id[:64]
    )
    return entry
