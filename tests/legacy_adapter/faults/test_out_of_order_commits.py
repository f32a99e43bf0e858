"""Two legacy transactions commit out of the order of their change ids (PostgreSQL, MariaDB).

T1 takes the lower ficus_change id but commits after T2. A worker polling in between sees
only T2's change; an "id > last seen" cursor would then skip T1's forever. Claiming pending
rows (`done_at_us IS NULL ... FOR UPDATE SKIP LOCKED`) picks T1 up on the next batch (G1).
SQLite has one writer at a time, so its ids always commit in order: servers only.
"""

from __future__ import annotations

import pytest
from sqlalchemy import insert, select, update

from legacy_adapter.ficus_tables import change
from legacy_adapter.forward_apply import Shard
from legacy_adapter.schema import ApptSched
from tests.legacy_adapter.legacy_db import add_appointments, appointment_row
from tests.legacy_adapter.sync_helpers import applier, legacy_engine, pending, stored

pytestmark = [pytest.mark.django_db(databases=["default", "appointments"]), pytest.mark.databases]


@pytest.fixture
def legacy(legacy_database_url):
    engine = legacy_engine(legacy_database_url)
    yield engine
    engine.dispose()


def test_a_change_committed_late_is_still_applied(legacy):
    add_appointments(legacy, [appointment_row(1)])
    applier(legacy).drain()
    with legacy.connect() as t1, legacy.connect() as t2:
        t1.begin()
        t1.execute(
            update(ApptSched)
            .where(ApptSched.APPT_ID == 1)
            .values(STATUS_CD="A", UPD_TS="20261121120000")
        )  # the lower change id, not committed yet
        t2.begin()
        t2.execute(insert(ApptSched.__table__), [appointment_row(2)])  # type: ignore[arg-type]
        t2.commit()

        first = applier(legacy).drain()
        t1.commit()
    second = applier(legacy).drain()

    assert (first.claimed, second.claimed) == (1, 1)
    assert stored()[1].status == "arrived"
    assert sorted(stored()) == [1, 2]
    assert pending(legacy) == []


def test_two_shard_workers_never_take_the_same_row(legacy):
    add_appointments(legacy, [appointment_row(k) for k in range(1, 21)])
    # A claim of shard 0 left open holds its rows; shard 1 and a second shard-0 worker
    # (SKIP LOCKED) go past them instead of waiting or taking them twice.
    # READ COMMITTED, as the applier claims: InnoDB then keeps locks only on matching rows.
    with legacy.connect().execution_options(isolation_level="READ COMMITTED") as held:
        held.begin()
        locked = held.execute(
            select(change.c.id)
            .where(
                change.c.done_at_us.is_(None), change.c.tbl == "APPT_SCHED", change.c.pk % 2 == 0
            )
            .order_by(change.c.id)
            .limit(3)
            .with_for_update(skip_locked=True)
        ).all()
        other = applier(legacy, shard=Shard(0, 2)).drain()
        odd = applier(legacy, shard=Shard(1, 2)).drain()
        held.rollback()
    rest = applier(legacy, shard=Shard(0, 2)).drain().claimed
    rest += applier(legacy, shard=Shard(1, 2)).drain().claimed

    assert len(locked) == 3
    assert other.claimed <= 7  # not the three held rows (nor, on InnoDB, rows it scanned)
    assert other.claimed + odd.claimed + rest == 20  # each change claimed exactly once
    assert sorted(stored()) == list(range(1, 21))
    assert pending(legacy) == []
