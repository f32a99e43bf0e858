"""The legacy schema's constraints, checked on a service's write before it is made.

Legacy stays the record of truth until a feature retires, and reverse sync writes every
accepted change into its columns. A value a face's own rules let through but no legacy row can
hold (20 times "ß" passes a 35-character check; upper-cased it is 40 characters) would dead-letter
there, and the two sides would disagree for good. So every write function runs its values
through the same mapping reverse sync uses (`RecordMapping.check_field`: lengths after
upper-casing, characters the servers cannot store, ranges) and refuses what would not map,
before anything is written; each face answers in its own format (304 INVALID VALUE on the
legacy contract, a 400 problem naming the field on /v2).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from domain.records import MappingError, RecordMapping


class LegacyCannotHoldError(ValueError):
    """Names the clean field, the legacy column and the problem, never the value (PHI)."""

    def __init__(self, field: str, column: str, problem: str) -> None:
        super().__init__(f"{field} ({column}) {problem}")
        self.field = field
        self.column = column
        self.problem = problem


def check_legacy_can_hold(mapping: RecordMapping[Any], values: Mapping[str, object]) -> None:
    """Raise LegacyCannotHoldError for the first of `values` (clean field → value, in the order
    given: the faces pass their own validation order) that its legacy column cannot hold."""
    for name, value in values.items():
        try:
            mapping.check_field(name, value)
        except MappingError as e:
            raise LegacyCannotHoldError(name, e.column or name, e.problem) from None
