"""Create `ficus_applied_change` in a service's database, and read and write it there.

Hand-written DDL, one statement per vendor, because the table must exist on aliases where the
router does not migrate this app, and Django's schema editor cannot run inside a transaction on
SQLite. `CREATE TABLE IF NOT EXISTS` makes it idempotent.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from django.db import connections

from legacy_adapter.models import AppliedChange

_DDL = {
    "sqlite": (
        "CREATE TABLE IF NOT EXISTS ficus_applied_change (id integer PRIMARY KEY AUTOINCREMENT,"
        " source varchar(40) NOT NULL, change_id bigint NOT NULL, applied_at datetime NOT NULL,"
        " CONSTRAINT ficus_applied_once UNIQUE (source, change_id))"
    ),
    "postgresql": (
        "CREATE TABLE IF NOT EXISTS ficus_applied_change (id bigserial PRIMARY KEY,"
        " source varchar(40) NOT NULL, change_id bigint NOT NULL,"
        " applied_at timestamp with time zone NOT NULL,"
        " CONSTRAINT ficus_applied_once UNIQUE (source, change_id))"
    ),
    "mysql": (
        "CREATE TABLE IF NOT EXISTS ficus_applied_change (id bigint AUTO_INCREMENT PRIMARY KEY,"
        " source varchar(40) NOT NULL, change_id bigint NOT NULL, applied_at datetime(6) NOT NULL,"
        " CONSTRAINT ficus_applied_once UNIQUE (source, change_id))"
    ),
}


def ensure_applied_change_table(alias: str) -> None:
    connection = connections[alias]
    with connection.cursor() as cursor:
        cursor.execute(_DDL[connection.vendor])


def already_applied(alias: str, source: str, change_ids: Iterable[int]) -> set[int]:
    ids = list(change_ids)
    if not ids:
        return set()
    found = (
        AppliedChange.objects.using(alias)
        .filter(source=source, change_id__in=ids)
        .values_list("change_id", flat=True)
    )
    return set(found)


def record_applied(alias: str, source: str, change_ids: Iterable[int]) -> None:
    """Call inside the service's write transaction on `alias`."""
    now = datetime.now(UTC)
    rows = [AppliedChange(source=source, change_id=cid, applied_at=now) for cid in change_ids]
    AppliedChange.objects.using(alias).bulk_create(rows, batch_size=1000)


def forget_applied(alias: str, source: str, change_ids: Iterable[int]) -> None:
    ids = list(change_ids)
    manager = AppliedChange.objects.using(alias)
    for start in range(0, len(ids), 500):
        manager.filter(source=source, change_id__in=ids[start : start + 500]).delete()
