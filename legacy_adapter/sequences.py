"""Legacy id allocation from LEGACY_SEQ, exactly as the legacy app does it.

While the legacy app and an extracted service both create appointments, both must draw ids
from one counter, or the two would hand out the same APPT_ID. The legacy counter is the row
`LEGACY_SEQ(SEQ_NM, NEXT_VAL)`: NEXT_VAL is the next id to hand out, and the legacy app takes
one with `UPDATE ... SET NEXT_VAL = NEXT_VAL + 1` followed by a SELECT, in one transaction
(demo/legacy/db.py `next_id`). The UPDATE comes first, so on PostgreSQL/MariaDB it takes the row
lock before anything is read and SQLite takes its write lock: concurrent allocators queue.

Here the allocation runs in its own short transaction (the service's own write happens in its
own database afterwards), so an id can be burnt when the service's write then fails; gaps are
harmless, duplicates are not. `peek_id` reads the next id without taking it, for dry-run
requests, which must change nothing anywhere.
"""

from __future__ import annotations

from sqlalchemy import Engine, select, update

from legacy_adapter.schema import LegacySeq


class SequenceMissingError(LookupError):
    """LEGACY_SEQ has no row of that name (the legacy database was never initialized)."""


def allocate_id(engine: Engine, seq_nm: str) -> int:
    """Take the next id of `seq_nm` (committed at once) and return it."""
    with engine.begin() as conn:
        touched = conn.execute(
            update(LegacySeq)
            .where(LegacySeq.SEQ_NM == seq_nm)
            .values(NEXT_VAL=LegacySeq.NEXT_VAL + 1)
        ).rowcount
        if touched != 1:
            raise SequenceMissingError(f"LEGACY_SEQ has no row {seq_nm!r}")
        value = conn.execute(
            select(LegacySeq.NEXT_VAL).where(LegacySeq.SEQ_NM == seq_nm)
        ).scalar_one()
    return int(value) - 1


def peek_id(engine: Engine, seq_nm: str) -> int:
    """The id `allocate_id` would return now, without taking it."""
    with engine.connect() as conn:
        value = conn.execute(
            select(LegacySeq.NEXT_VAL).where(LegacySeq.SEQ_NM == seq_nm)
        ).scalar_one_or_none()
    if value is None:
        raise SequenceMissingError(f"LEGACY_SEQ has no row {seq_nm!r}")
    return int(value)
