"""Reading and saving copy progress in `ficus_sync_checkpoint` (in the legacy database).

Progress lives next to the data it describes, so a copy resumes wherever it is restarted from.
Each save is its own short transaction, made only *after* the target committed the batch:
a crash between the two replays one batch, which the target's version guard makes harmless
(at-least-once delivery, exactly-once effect).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, insert, select, update

from legacy_adapter.ficus_tables import sync_checkpoint

BACKFILL = "backfill"
INCREMENTAL = "incremental"
RUNNING = "running"
DONE = "done"
IDLE = "idle"


@dataclass(frozen=True, slots=True)
class Checkpoint:
    feature: str
    direction: str
    stream: str
    state: str
    last_key: int | None = None
    watermark: str | None = None


def _utc_now() -> datetime:
    return datetime.now(UTC)


class CheckpointStore:
    def __init__(self, engine: Engine, *, clock: Callable[[], datetime] = _utc_now) -> None:
        self._engine = engine
        self._clock = clock

    def get(self, feature: str, direction: str, stream: str) -> Checkpoint | None:
        table = sync_checkpoint.c
        query = select(table.state, table.last_key, table.watermark).where(
            table.feature == feature, table.direction == direction, table.stream == stream
        )
        with self._engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            return None
        return Checkpoint(feature, direction, stream, row.state, row.last_key, row.watermark)

    def save(self, checkpoint: Checkpoint) -> None:
        values = {
            "state": checkpoint.state,
            "last_key": checkpoint.last_key,
            "watermark": checkpoint.watermark,
            "updated_at": self._clock(),
        }
        table = sync_checkpoint.c
        # Update-then-insert is portable (no dialect-specific upsert); one writer per stream.
        with self._engine.begin() as conn:
            result = conn.execute(
                update(sync_checkpoint)
                .where(
                    table.feature == checkpoint.feature,
                    table.direction == checkpoint.direction,
                    table.stream == checkpoint.stream,
                )
                .values(**values)
            )
            if result.rowcount == 0:
                conn.execute(
                    insert(sync_checkpoint).values(
                        feature=checkpoint.feature,
                        direction=checkpoint.direction,
                        stream=checkpoint.stream,
                        **values,
                    )
                )
