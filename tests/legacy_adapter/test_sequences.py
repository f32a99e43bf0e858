"""Ids from LEGACY_SEQ: the service's allocator and the legacy app's hand out one sequence.

Alternating the legacy app's own allocator (demo/legacy/db.py `next_id`) with
`allocate_id` must never repeat an id, and `peek_id` must name the next one without taking it.
"""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from demo.legacy.db import next_id, write_transaction
from legacy_adapter.sequences import SequenceMissingError, allocate_id, peek_id
from tests.legacy_adapter.legacy_db import create_legacy_schema


@pytest.fixture
def engine(legacy_database_url):
    engine = create_engine(legacy_database_url)
    create_legacy_schema(engine)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO LEGACY_SEQ (SEQ_NM, NEXT_VAL) VALUES ('APPT_ID', 41)"))
    yield engine
    engine.dispose()


def _legacy_next(engine):
    with write_transaction(engine) as conn:
        return next_id(conn, "APPT_ID")


def _interleaved(engine):
    taken = []
    for _ in range(3):
        peeked = peek_id(engine, "APPT_ID")
        taken.append(allocate_id(engine, "APPT_ID"))
        assert taken[-1] == peeked
        taken.append(_legacy_next(engine))
    return taken


def test_it_shares_one_sequence_with_the_legacy_app(engine):
    taken = _interleaved(engine)

    assert taken == list(range(41, 47))
    assert peek_id(engine, "APPT_ID") == 47


@pytest.mark.databases
def test_it_shares_one_sequence_on_the_server_databases(engine):
    assert _interleaved(engine) == list(range(41, 47))


def test_peeking_takes_nothing(engine):
    assert [peek_id(engine, "APPT_ID") for _ in range(3)] == [41, 41, 41]


def test_a_missing_sequence_is_a_clear_error(engine):
    with pytest.raises(SequenceMissingError, match="CHG_X"):
        allocate_id(engine, "CHG_X")
    with pytest.raises(SequenceMissingError, match="CHG_X"):
        peek_id(engine, "CHG_X")
