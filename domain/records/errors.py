"""The one error the mapping raises: a legacy value that has no clean meaning (or the reverse).

`MappingError` is a `ValueError` so generic callers can treat it as bad input, and it carries
the column (or clean field) and the *kind* of problem, never the offending value: legacy rows
hold PHI, and these messages end up in logs, command output and, later, the dead-letter table.
"""

from __future__ import annotations


class MappingError(ValueError):
    """A value cannot be mapped. `column` names where, `problem` says what is wrong with it."""

    def __init__(self, problem: str, *, column: str | None = None) -> None:
        self.problem = problem
        self.column = column
        super().__init__(f"{column}: {problem}" if column else problem)

    def at(self, column: str) -> MappingError:
        """The same problem, attributed to `column` (codecs do not know where they are used)."""
        return MappingError(self.problem, column=column)
