"""The version of a service write: the clock in microseconds, after the version before it.

Sync orders the writes of one record by version (docs/sync.md, "Versions"): a write made in
the legacy database is versioned by the capture time of its change row, a service write by the
service's clock, both in integer microseconds since the epoch, so two writes in the same
second are still ordered. A version never runs ahead of the clock by more than the
microseconds a burst of edits needs (the old rule, one second past the previous version, put
25 quick edits 24 s into the future, where a later legacy edit then looked older).
"""

from __future__ import annotations

from datetime import datetime

from extracted.core.sink import version_of


def next_version(previous: int | None, now: datetime) -> int:
    """`now` in microseconds, or one past `previous` if the clock has not moved beyond it."""
    candidate = version_of(now)
    if previous is not None and candidate <= previous:
        return previous + 1
    return candidate
