"""The backfill's progress on stderr, for `manage.py sync backfill`."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from legacy_adapter.forward_copy import CopyReport


class ProgressBar:
    """A one-line progress bar on stderr (a line a second when stderr is not a terminal)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream or sys.stderr
        self._last = 0.0
        self._tty = self._stream.isatty()

    def __call__(self, report: CopyReport) -> None:
        now = time.monotonic()
        total = report.total or 0
        done = total and report.read >= total
        if now - self._last < (0.1 if self._tty else 1.0) and not done:
            return
        self._last = now
        fraction = min(report.read / total, 1.0) if total else 1.0
        bar = "#" * int(fraction * 30)
        line = f"backfill [{bar:<30}] {fraction:>4.0%} {report.read}/{total} failed {report.failed}"
        if self._tty:
            self._stream.write(f"\r{line}" + ("\n" if done else ""))
        else:
            self._stream.write(line + "\n")
        self._stream.flush()
