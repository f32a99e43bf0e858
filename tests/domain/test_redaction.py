"""domain.redaction: a failure's log text names its kind and the driver's reason, never the SQL."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import SQLAlchemyError

from domain.redaction import describe_error


def test_a_database_error_is_described_without_its_statement_or_values() -> None:
    engine = create_engine("sqlite://")
    with pytest.raises(SQLAlchemyError) as caught, engine.connect() as conn:
        conn.execute(text("INSERT INTO no_such_table VALUES (:name)"), {"name": "DOE^JANE"})

    described = describe_error(caught.value)

    assert described == "OperationalError: no such table: no_such_table"
    assert "DOE^JANE" not in described
    assert "INSERT" not in described


def test_the_cause_of_a_wrapped_error_is_what_is_described() -> None:
    try:
        try:
            raise sqlite3.IntegrityError("UNIQUE constraint failed: PATIENT_MASTER.MRN\nmore")
        except sqlite3.IntegrityError as e:
            raise RuntimeError("wrapper text with a value 123-45-6789") from e
    except RuntimeError as wrapped:
        described = describe_error(wrapped)

    assert described == "IntegrityError: UNIQUE constraint failed: PATIENT_MASTER.MRN"


def test_an_error_without_text_says_so() -> None:
    assert describe_error(ValueError()) == "ValueError: no detail"
