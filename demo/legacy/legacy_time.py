"""The legacy wire formats for time: dates `YYYYMMDD`, times `HHMM`, timestamps `YYYYMMDDHHMMSS`.

Everything is UTC and text, because the legacy schema stores it as CHAR columns. Parsers return
None instead of raising: callers turn that into the contract's INVALID DATE / INVALID TIME.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime

Clock = Callable[[], datetime]

_DATE_RE = re.compile(r"[0-9]{8}")
_TIME_RE = re.compile(r"[0-9]{4}")


def utc_now() -> datetime:
    """The default clock: the current time in UTC."""
    return datetime.now(UTC)


def to_legacy_ts(moment: datetime) -> str:
    """`YYYYMMDDHHMMSS` in UTC; naive datetimes are taken to be UTC already."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y%m%d%H%M%S")


def to_legacy_date(day: date) -> str:
    return day.strftime("%Y%m%d")


def parse_legacy_date(value: object) -> date | None:
    """A real calendar date from an 8-digit string, else None (`20261131` is None)."""
    if not isinstance(value, str) or not _DATE_RE.fullmatch(value):
        return None
    try:
        return date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        return None


def parse_legacy_time(value: object) -> int | None:
    """Minutes after midnight from a 4-digit `HHMM` string (0000..2359), else None."""
    if not isinstance(value, str) or not _TIME_RE.fullmatch(value):
        return None
    hours, minutes = int(value[:2]), int(value[2:])
    if hours > 23 or minutes > 59:
        return None
    return hours * 60 + minutes


def format_legacy_time(minutes: int) -> str:
    return f"{minutes // 60:02d}{minutes % 60:02d}"


def display_date(legacy_date: str) -> str:
    """`20261120` as `11/20/2026`, the way the front desk reads dates; bad input is shown as is."""
    day = parse_legacy_date(legacy_date)
    return day.strftime("%m/%d/%Y") if day else legacy_date


def display_ts(legacy_ts: str) -> str:
    """`20261120083000` as `11/20/2026 08:30`."""
    if len(legacy_ts) != 14:
        return legacy_ts
    return f"{display_date(legacy_ts[:8])} {display_time(legacy_ts[8:12])}"


def display_time(legacy_time: str) -> str:
    """`0930` as `09:30`."""
    return f"{legacy_time[:2]}:{legacy_time[2:]}" if len(legacy_time) == 4 else legacy_time
