"""The access log: one JSON object per line per request, the proxy's record of who served what.

A record names the route *template* and never the raw path or query string: patient searches
(`/api/appointments?q=DOE`) and chart URLs carry PHI, templates do not. `AccessRecord` has no field
that could hold a path, so a caller cannot log one by mistake. Tests read this log to see which
upstream served each request, and people read it the same way.

Pure standard library: the addon builds records, this module only formats and writes them.
"""

from __future__ import annotations

import functools
import json
import math
import re
import sys
from dataclasses import dataclass, fields
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
    # The peer's address, only on a request refused before routing (route "-"): no upstream
    # saw it, so this line is the one place that says who sent it.
    client: str | None = None


_FIELDS: Final = tuple(f.name for f in fields(AccessRecord))


@functools.lru_cache(maxsize=4)
def _second(epoch_second: int) -> str:
    # Once per second rather than per request: a datetime and its formatting cost more than
    # the rest of a log line.
    return datetime.fromtimestamp(epoch_second, UTC).strftime("%Y-%m-%dT%H:%M:%S")


def iso_timestamp(epoch_seconds: float) -> str:
    """`2026-11-21T06:07:40.805Z`: UTC, milliseconds (truncated, as isoformat does)."""
    # Rounded to microseconds first, as datetime.fromtimestamp does, then truncated.
    fraction, whole = math.modf(epoch_seconds)
    micros = round(fraction * 1e6)
    second = int(whole)
    if micros < 0:
        second, micros = second - 1, micros + 1_000_000
    elif micros >= 1_000_000:
        second, micros = second + 1, micros - 1_000_000
    return f"{_second(second)}.{micros // 1000:03d}Z"


def refused_record(
    *,
    started: float,
    request_id: str,
    method: str,
    status: int | None,
    error: str | None,
    client: str,
    now: float,
) -> AccessRecord:
    """The record of a request refused before routing: no route, upstream or phase (`-`), and
    the client's address, since no upstream ever saw it."""
    return AccessRecord(
        ts=iso_timestamp(started),
        request_id=request_id,
        method=method,
        route=NONE,
        feature=NONE,
        upstream=NONE,
        phase=NONE,
        reason=NONE,
        status=status,
        duration_ms=round((now - started) * 1000, 1),
        error=error,
        client=client,
    )


# Values made only of these characters are JSON strings as they are (no escape needed); a
# line is built field by field rather than through json.dumps, which builds an encoder per call.
_PLAIN: Final = re.compile(r"[\w .:/{}+-]*", re.ASCII)


def _json_value(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, str):
        return f'"{value}"' if _PLAIN.fullmatch(value) else json.dumps(value, ensure_ascii=True)
    if type(value) is int or (type(value) is float and math.isfinite(value)):
        return repr(value)  # what json.dumps gives for these, without its encoder
    return json.dumps(value)


def format_record(record: AccessRecord) -> str:
    """One compact JSON object; optional fields left out when unset, `status` always there."""
    parts = [
        f'"{name}":{_json_value(value)}'
        for name in _FIELDS
        if (value := getattr(record, name)) is not None or name == "status"
    ]
    return "{" + ",".join(parts) + "}"


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
