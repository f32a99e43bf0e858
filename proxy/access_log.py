"""The access log: one JSON object per line per request, the proxy's record of who served what.

A record names the route *template* and never the raw path or query string: patient searches
(`/api/patients?q=DOE`) and chart URLs carry PHI, templates do not. `AccessRecord` has no field
that could hold a path, so a caller cannot log one by mistake. Tests read this log to see which
upstream served each request, and people read it the same way.

Pure standard library: the addon builds records, this module only formats and writes them.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import IO, Final

STDERR: Final = "-"
NONE: Final = "-"  # route/feature/upstream/phase/reason of a request refused before routing


@dataclass(frozen=True, slots=True)
class AccessRecord:
    ts: str
    request_id: str
    method: str
    route: str
    feature: str
    upstream: str
    phase: str
    # Why that upstream: "route" (the phase), "pinned" (read-your-writes), "fallback".
    reason: str
    status: int | None
    duration_ms: float
    # Set only when the proxy itself answered or failed: a fixed reason, never upstream text.
    error: str | None = None
    # The service whose failed read legacy answered instead (reason "fallback"); `upstream`
    # then says "legacy".
    fallback_from: str | None = None


def iso_timestamp(epoch_seconds: float) -> str:
    return (
        datetime.fromtimestamp(epoch_seconds, UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


def format_record(record: AccessRecord) -> str:
    fields = {k: v for k, v in asdict(record).items() if v is not None or k == "status"}
    return json.dumps(fields, separators=(",", ":"), ensure_ascii=True)


class AccessLog:
    """Appends records to a file (line-buffered, so `tail -f` and tests see each at once)."""

    def __init__(self, target: str) -> None:
        self.target = target
        self._stream: IO[str]
        if target == STDERR:
            self._stream = sys.stderr
            self._owned = False
        else:
            self._stream = open(target, "a", buffering=1, encoding="utf-8")  # noqa: SIM115
            self._owned = True

    def write(self, record: AccessRecord) -> None:
        self._stream.write(format_record(record) + "\n")

    def close(self) -> None:
        if self._owned:
            self._stream.close()
        else:
            self._stream.flush()
