"""The control plane's refusals: a status for the API and a message people can act on."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class ControlError(Exception):
    """A refused request; `status` is what the API answers, the message what people read."""

    status = 400

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.reason = message
        if status is not None:
            self.status = status


class GateRefusalError(ControlError):
    """An advance whose gates failed; carries every gate result and the evidence."""

    status = 409

    def __init__(
        self, message: str, *, results: Sequence[dict[str, Any]], evidence: dict[str, Any]
    ) -> None:
        super().__init__(message)
        self.results = list(results)
        self.evidence = evidence


class NothingToChangeError(ControlError):
    """A move that would change no route (every selected route is already there)."""

    status = 409
