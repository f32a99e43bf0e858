"""`ficus_applied_change`: the change ids an applier has applied to a service's database.

Forward sync inserts one row per legacy change in the *same* transaction as the service write,
then marks the change done in the legacy database after that commit. A worker killed between
the two finds the ids here on its next claim and only marks them done: nothing is applied twice
(G2), even though the change is delivered twice.

The table lives in every service's own database (the alias the applier writes to), but the
project's router keeps this app on `default`, so the model is unmanaged and
`legacy_adapter.applied.ensure_applied_change_table(alias)` creates the table where it is needed
(`sync install`, and every worker on start). No Django migration: `legacy_adapter.migrations`
is the Alembic runner.
"""

from __future__ import annotations

from django.db import models


class AppliedChange(models.Model):
    id = models.BigAutoField(primary_key=True)
    # Which stream the id belongs to, e.g. "legacy" (ficus_change ids of the legacy database).
    source = models.CharField(max_length=40)
    change_id = models.BigIntegerField()
    applied_at = models.DateTimeField()

    class Meta:
        managed = False
        db_table = "ficus_applied_change"
        constraints = [
            models.UniqueConstraint(fields=["source", "change_id"], name="ficus_applied_once")
        ]

    def __str__(self) -> str:
        return f"applied {self.source}:{self.change_id}"
