"""Day bounds, windows and end times near the ends of the calendar (years 1 and 9999).

The legacy app stores any `YYYYMMDD` that names a real day, `00010101` and `99991231` included,
at any `HHMM`, in its zone, west or east of Greenwich. Seen in UTC, the first hours of 00010101
east of Greenwich are in year 0 and the last hours of 99991231 west of it in year 10000, where
Python's UTC datetimes (and `astimezone`, `+`) overflow. These helpers go through
`domain.records.instants` instead, which counts microseconds and never builds the UTC
datetime; their results are in its normal form (UTC whenever UTC holds the instant).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, tzinfo

from domain.records.instants import (
    FIRST_INSTANT,
    LAST_INSTANT,
    epoch_micros,
    from_epoch_micros,
    in_zone,
    normal,
)

__all__ = ["FIRST_INSTANT", "LAST_INSTANT", "day_bounds", "end_of", "shifted"]


def day_bounds(day: date, zone: tzinfo) -> tuple[datetime, datetime | None]:
    """The local day `day` in `zone` as [start, end); end None: the calendar ends first."""
    start = normal(datetime.combine(day, time(), zone))
    if day == date.max:
        return start, None
    return start, normal(datetime.combine(day + timedelta(days=1), time(), zone))


def shifted(instant: datetime, delta: timedelta) -> datetime:
    """`instant + delta`, held at the first or last instant instead of overflowing."""
    try:
        return from_epoch_micros(epoch_micros(instant) + delta // timedelta(microseconds=1))
    except OverflowError:
        return LAST_INSTANT if delta > timedelta() else FIRST_INSTANT


def end_of(start: datetime, minutes: int, zone: tzinfo) -> datetime:
    """The end of an appointment: `start + minutes` on the wall clock of `zone`, or, when that
    wall clock is past 9999-12-31 (a late start on the last day), the instant in normal form;
    OverflowError when no aware datetime names the end (past LAST_INSTANT: a long appointment
    late on 9999-12-31 west of Greenwich), never a clamped, wrong end."""
    end = from_epoch_micros(epoch_micros(start) + minutes * 60_000_000)
    try:
        return in_zone(end, zone)
    except OverflowError:
        return end
