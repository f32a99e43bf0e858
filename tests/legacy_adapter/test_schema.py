"""Ficus's SQLAlchemy models describe the legacy schema exactly as the legacy app creates it.

The legacy app's DDL (demo/legacy/ddl.py) and legacy_adapter/schema.py are written separately,
as they would be in a hospital: the adapter describes a database it does not own. Reflection
on each backend proves they agree on tables, columns, keys, nullability and indexes.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Table, create_engine, inspect

from legacy_adapter.schema import LEGACY_TABLE_NAMES, LegacyBase, is_legacy_table
from tests.legacy_adapter.legacy_db import create_legacy_schema


def _reflect(url: str) -> dict[str, dict[str, Any]]:
    engine = create_engine(url)
    create_legacy_schema(engine)
    inspector = inspect(engine)
    reflected: dict[str, dict[str, Any]] = {}
    for name in inspector.get_table_names():
        columns = inspector.get_columns(name)
        reflected[name.upper()] = {
            "columns": {c["name"].upper(): bool(c["nullable"]) for c in columns},
            "primary_key": [
                c.upper() for c in inspector.get_pk_constraint(name)["constrained_columns"]
            ],
            "indexes": {
                i["name"].upper(): [str(c).upper() for c in i["column_names"]]
                for i in inspector.get_indexes(name)
                if i["name"] and not i.get("unique")
            },
        }
    engine.dispose()
    return reflected


def _declared(table: Table) -> dict[str, Any]:
    return {
        "columns": {c.name.upper(): bool(c.nullable) for c in table.columns},
        "primary_key": [c.name.upper() for c in table.primary_key.columns],
        "indexes": {
            str(i.name).upper(): [c.name.upper() for c in i.columns] for i in table.indexes
        },
    }


def _assert_models_match(url: str) -> None:
    reflected = _reflect(url)
    assert set(reflected) == set(LEGACY_TABLE_NAMES)
    for table in LegacyBase.metadata.sorted_tables:
        assert _declared(table) == reflected[table.name.upper()], table.name


def test_the_models_match_the_legacy_ddl_on_sqlite(legacy_database_url: str) -> None:
    _assert_models_match(legacy_database_url)


@pytest.mark.databases
def test_the_models_match_the_legacy_ddl_on_servers(legacy_database_url: str) -> None:
    _assert_models_match(legacy_database_url)


def test_every_model_is_a_legacy_table_and_every_legacy_table_has_a_model() -> None:
    modelled = {table.name for table in LegacyBase.metadata.sorted_tables}
    assert modelled == set(LEGACY_TABLE_NAMES)
    assert all(is_legacy_table(name.lower()) for name in modelled)
    assert not is_legacy_table("ficus_sync_checkpoint")
