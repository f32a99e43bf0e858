"""The loop that forward and reverse apply share: drain batches, sort claimed keys by fate.

Both directions claim a batch, look up the *current* row of every claimed key (state-based: a
burst of changes to one key is one write), turn each row into the other side's shape, and
write. What differs is where rows are claimed and marked (the legacy change log with
SQLAlchemy, the service outbox with Django) and how a refused write is handled, so those stay
in `forward_apply` and `reverse_apply`; only the parts that are the same rule live here. This
module imports no database library, so the rule can be read and tested on its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Protocol, Self, TypeVar

from domain.records import MappingError

In = TypeVar("In")
Out = TypeVar("Out")


class Report(Protocol):
    def add(self, other: Self) -> None:
        """Fold the counts of one batch into this total."""
        ...


R = TypeVar("R", bound=Report)


def drain(run_batch: Callable[[], R | None], total: R, max_batches: int | None = None) -> R:
    """Run batches until one finds nothing pending (None) or max_batches ran; the sum of
    their reports, folded into total."""
    batches = 0
    while max_batches is None or batches < max_batches:
        report = run_batch()
        if report is None:
            break
        total.add(report)
        batches += 1
    return total


def add_counts(total: object, other: object, names: Iterable[str]) -> None:
    """total.name += other.name for every counter name (reports are flat dataclasses)."""
    for name in names:
        setattr(total, name, getattr(total, name) + getattr(other, name))


def convert_current(
    keys: Iterable[int],
    current: Mapping[int, In],
    convert: Callable[[In], Out],
) -> tuple[dict[int, Out | None], dict[int, str]]:
    """For every key in order: its current row converted (None when the key has no row any
    more: the write is a delete), or, when the mapping refuses the row, the reason, apart.

    Only `MappingError` is a row's own fault; anything else propagates, so a broken mapping
    or database fails the batch instead of dead-lettering every key.
    """
    converted: dict[int, Out | None] = {}
    refused: dict[int, str] = {}
    for key in keys:
        row = current.get(key)
        if row is None:
            converted[key] = None
            continue
        try:
            converted[key] = convert(row)
        except MappingError as e:
            refused[key] = str(e)
    return converted, refused
