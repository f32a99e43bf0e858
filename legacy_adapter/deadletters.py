"""Dead letters: keys whose row cannot be mapped or is refused by the other side (G6).

One row per (direction, table, key). A poison row is recorded here with the reason (the
column and the problem, never a value) and its change is marked done, so the batch and every
other key go on. The key stays out of step until a later change of it applies cleanly (which
resolves the entry by itself) or `sync dead-letters --retry` queues it again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, func, insert, select, update

from legacy_adapter.ficus_tables import change, dead_letter

MAX_REASON = 500


@dataclass(frozen=True, slots=True)
class DeadLetter:
    feature: str
    direction: str
    tbl: str
    pk: int
    reason: str
    attempts: int
    change_id: int | None


def record(
    conn: Connection,
    *,
    feature: str,
    direction: str,
    tbl: str,
    poison: Mapping[int, tuple[int | None, str]],
    now_us: int,
) -> None:
    """Record `poison` {key: (change id, reason)} in the transaction open on `conn`."""
    c = dead_letter.c
    for key, (change_id, reason) in poison.items():
        where = (c.direction == direction, c.tbl == tbl, c.pk == key)
        updated = conn.execute(
            update(dead_letter)
            .where(*where)
            .values(
                reason=reason[:MAX_REASON],
                change_id=change_id,
                attempts=c.attempts + 1,
                last_seen_us=now_us,
                resolved_at_us=None,
            )
        )
        if updated.rowcount == 0:
            conn.execute(
                insert(dead_letter).values(
                    feature=feature,
                    direction=direction,
                    tbl=tbl,
                    pk=key,
                    change_id=change_id,
                    reason=reason[:MAX_REASON],
                    attempts=1,
                    first_seen_us=now_us,
                    last_seen_us=now_us,
                )
            )


def resolve(
    conn: Connection, *, direction: str, tbl: str, keys: Sequence[int], now_us: int
) -> None:
    """Close the open entries of keys that have now been applied cleanly."""
    c = dead_letter.c
    for start in range(0, len(keys), 500):
        conn.execute(
            update(dead_letter)
            .where(
                c.direction == direction,
                c.tbl == tbl,
                c.resolved_at_us.is_(None),
                c.pk.in_(keys[start : start + 500]),
            )
            .values(resolved_at_us=now_us)
        )


def open_letters(engine: Engine, feature: str | None = None) -> list[DeadLetter]:
    c = dead_letter.c
    query = select(dead_letter).where(c.resolved_at_us.is_(None)).order_by(c.id)
    if feature is not None:
        query = query.where(c.feature == feature)
    with engine.connect() as conn:
        return [
            DeadLetter(r.feature, r.direction, r.tbl, r.pk, r.reason, r.attempts, r.change_id)
            for r in conn.execute(query)
        ]


def count_open(conn: Connection, feature: str) -> int:
    c = dead_letter.c
    query = select(func.count()).where(c.resolved_at_us.is_(None), c.feature == feature)
    return int(conn.execute(query).scalar_one())


def retry_forward(engine: Engine, now_us: int, feature: str | None = None) -> int:
    """Queue every open forward dead letter again as a change row; returns how many."""
    letters = [d for d in open_letters(engine, feature) if d.direction == "forward"]
    if letters:
        with engine.begin() as conn:
            conn.execute(
                insert(change),
                [{"tbl": d.tbl, "pk": d.pk, "op": "R", "created_at_us": now_us} for d in letters],
            )
    return len(letters)
