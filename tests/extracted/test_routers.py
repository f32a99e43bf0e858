"""Each service's tables live on its own alias, including the same-named Ficus tables.

Both services have a `ficus_outbox` and a `ficus_access_audit`; settings silence Django's W035
for that, and this test is why that is safe: the router sends each to its own database.
"""

from __future__ import annotations

from collections import defaultdict

from django.apps import apps
from django.db import router


def test_it_keeps_shared_table_names_on_separate_databases() -> None:
    aliases_by_table: dict[str, list[str]] = defaultdict(list)
    for model in apps.get_models():
        if model._meta.proxy:  # a proxy model shares its parent's table by design
            continue
        aliases_by_table[model._meta.db_table].append(router.db_for_write(model))
    shared = {table: aliases for table, aliases in aliases_by_table.items() if len(aliases) > 1}
    assert set(shared) >= {"ficus_outbox", "ficus_access_audit"}
    for table, aliases in shared.items():
        assert len(set(aliases)) == len(aliases), f"{table} is used twice on one database"


def test_it_lets_each_service_migrate_only_on_its_own_alias() -> None:
    assert router.allow_migrate("patients", "patients")
    assert not router.allow_migrate("appointments", "patients")
    assert not router.allow_migrate("default", "appointments")
    assert router.allow_migrate("default", "migration_plans")
