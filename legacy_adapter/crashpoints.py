"""Named crash points for the fault tests: `FICUS_SYNC_CRASH_AT=name[@n]` SIGKILLs the worker.

The sync code calls `crash_point("after-target-commit")` (and others) at the places where a
real crash hurts most. With the variable unset this is one dictionary look-up. With it set,
the n-th time (default 1st) the process reaches the named point it kills itself with SIGKILL:
no `finally`, no atexit, no rollback by Python, exactly like the OOM killer or a power cut.
"""

from __future__ import annotations

import os
import signal

ENV_VAR = "FICUS_SYNC_CRASH_AT"
POINTS = (
    "after-claim",  # change rows claimed, nothing applied yet
    "mid-batch",  # rows read and mapped, target transaction not started
    "after-target-commit",  # target committed, source not marked done
    "after-source-mark",  # source marked done, before the next batch
    "backfill-chunk",  # a backfill chunk applied, its checkpoint not saved
    "reverse-apply",  # legacy written (uncommitted) by reverse sync
    "reverse-after-legacy-commit",  # legacy committed, outbox not marked processed
)
_hits: dict[str, int] = {}


def crash_point(name: str) -> None:
    wanted = os.environ.get(ENV_VAR)
    if not wanted:
        return
    point, _, nth = wanted.partition("@")
    if point != name:
        return
    _hits[name] = _hits.get(name, 0) + 1
    if _hits[name] >= int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)
