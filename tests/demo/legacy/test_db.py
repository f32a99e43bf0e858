"""The db helper: UPPER-CASE row keys, SQLite's WAL and busy timeout, ids from LEGACY_SEQ."""

from __future__ import annotations

from demo.legacy.db import (
    DEFAULT_DATABASE_URL,
    database_url_from_env,
    fetch_all,
    fetch_one,
    fetch_value,
    next_id,
    write_transaction,
)


def test_rows_come_back_with_upper_case_keys_whatever_the_sql_says(engine):
    with engine.connect() as conn:
        row = fetch_one(
            conn, "select pat_id, mrn as mrn_lower from patient_master where pat_id = 1"
        )
    assert row == {"PAT_ID": 1, "MRN_LOWER": "M0000001"}


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(engine):
    with engine.connect() as conn:
        assert fetch_value(conn, "PRAGMA journal_mode") == "wal"
        assert fetch_value(conn, "PRAGMA busy_timeout") >= 10_000


def test_next_id_allocates_in_the_transaction_and_rolls_back_with_it(engine):
    with engine.connect() as conn:
        start = fetch_value(conn, "SELECT NEXT_VAL FROM LEGACY_SEQ WHERE SEQ_NM = 'PAT_ID'")
    with write_transaction(engine) as conn:
        assert next_id(conn, "PAT_ID") == start
        assert next_id(conn, "PAT_ID") == start + 1
    try:
        with write_transaction(engine) as conn:
            assert next_id(conn, "PAT_ID") == start + 2
            raise RuntimeError("roll back")
    except RuntimeError:
        pass
    with engine.connect() as conn:
        rows = fetch_all(conn, "SELECT NEXT_VAL FROM LEGACY_SEQ WHERE SEQ_NM = 'PAT_ID'")
    assert rows == [{"NEXT_VAL": start + 2}]


def test_the_url_comes_from_the_environment_or_the_demo_default():
    assert database_url_from_env({"LEGACY_DATABASE_URL": "sqlite:///x.db"}) == "sqlite:///x.db"
    assert database_url_from_env({}) == DEFAULT_DATABASE_URL == "sqlite:///var/legacy.sqlite3"
