"""Instants near the ends of Python's calendar (years 1 and 9999), without OverflowError.

The legacy app stores any `YYYYMMDD` that names a real day, `00010101` and `99991231` included,
so a service must read and search such days as well. Python's datetime stops at year 1 and
year 9999 *in UTC*: the day after 9999-12-31, or 9999-12-31 23:00 in Chicago seen in UTC, does
not exist, and arithmetic past them raises OverflowError (a 500). Each helper here says what
the caller means instead: "no upper bound" past the end, the first instant at the start.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo

__all__ = ["FIRST_INSTANT", "LAST_INSTANT", "day_bounds", "end_of", "shifted"]

FIRST_INSTANT = datetime.min.replace(tzinfo=UTC)
LAST_INSTANT = datetime.max.replace(tzinfo=UTC)


def _utc(moment: datetime) -> datetime | None:
    """`moment` in UTC, or None when UTC is past either end of the calendar."""
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        return None


def day_bounds(day: date, zone: tzinfo) -> tuple[datetime, datetime | None]:
    """The local day `day` in `zone` as [start, end) in UTC; end None: the calendar ends first."""
    start = _utc(datetime.combine(day, time(), zone)) or FIRST_INSTANT
    if day == date.max:
        return start, None
    return start, _utc(datetime.combine(day + timedelta(days=1), time(), zone))


def shifted(instant: datetime, delta: timedelta) -> datetime:
    """`instant + delta`, held at the first or last instant instead of overflowing."""
    try:
        return instant + delta
    except OverflowError:
        return LAST_INSTANT if delta > timedelta() else FIRST_INSTANT


def end_of(start: datetime, minutes: int, zone: tzinfo) -> datetime:
    """The end of an appointment in `zone`: `start + minutes`, also when that end is past
    9999-12-31 in UTC (it is still on 9999-12-31 locally, with that day's fixed offset)."""
    delta = timedelta(minutes=minutes)
    try:
        end = start.astimezone(UTC) + delta
    except OverflowError:
        return start.astimezone(zone) + delta
    try:
        return end.astimezone(zone)
    except OverflowError:  # east of Greenwich, where the local calendar ends first
        return end
