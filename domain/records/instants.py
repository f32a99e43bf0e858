"""Instants as wide as the legacy calendar, in any zone, without OverflowError.

The legacy app keeps wall-clock times `0001-01-01 00:00` .. `9999-12-31 23:59` in its zone.
Seen in UTC, some of them are outside Python's calendar: 9999-12-31 23:30 in Chicago is
10000-01-01 05:30 UTC, and 0001-01-01 00:00 in Tokyo (local mean time, +9:18:59) is
0000-12-31 14:41:01 UTC. An aware `datetime` still holds such an instant, just not at offset 0:
this module never builds the UTC datetime (where `astimezone` and `+` overflow) and counts
microseconds since the Unix epoch instead, which is also how the service stores a start.

The one normal form (`normal`): UTC whenever UTC holds the instant, so ordinary dates look
exactly as before; otherwise the same instant at `AFTER_END` (-23:59) or `BEFORE_START`
(+23:59), the widest offsets a `datetime` allows, which reach every wall time of the calendar
in every zone (real offsets stay within ±16 h, local mean time included).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone, tzinfo

__all__ = [
    "AFTER_END",
    "BEFORE_START",
    "FIRST_INSTANT",
    "LAST_INSTANT",
    "epoch_micros",
    "from_epoch_micros",
    "in_zone",
    "normal",
]

_EPOCH = datetime(1970, 1, 1)  # noqa: DTZ001 (naive on purpose: offsets are added by hand)
_WIDEST = timedelta(hours=23, minutes=59)  # a timezone's offset must be under 24 h
AFTER_END = timezone(-_WIDEST)
BEFORE_START = timezone(_WIDEST)
FIRST_INSTANT = datetime.min.replace(tzinfo=BEFORE_START)  # 0000-12-31 00:01 UTC
LAST_INSTANT = datetime.max.replace(tzinfo=AFTER_END)  # 10000-01-01 23:58:59.999999 UTC


def _micros(delta: timedelta) -> int:
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def epoch_micros(instant: datetime) -> int:
    """Microseconds from 1970-01-01 00:00 UTC to the aware `instant` (timedelta math only)."""
    offset = instant.utcoffset()
    if offset is None:
        raise ValueError("an instant must be time-zone-aware")
    return _micros(instant.replace(tzinfo=None) - _EPOCH - offset)


def from_epoch_micros(micros: int) -> datetime:
    """The instant `micros` after the epoch, in the normal form; OverflowError past
    FIRST_INSTANT/LAST_INSTANT (no aware datetime holds it)."""
    delta = timedelta(microseconds=micros)
    try:
        return (_EPOCH + delta).replace(tzinfo=UTC)
    except OverflowError:
        zone = AFTER_END if micros > 0 else BEFORE_START
        return (_EPOCH + (delta + _offset(zone))).replace(tzinfo=zone)


def _offset(zone: tzinfo) -> timedelta:
    offset = zone.utcoffset(None)
    assert offset is not None  # a fixed-offset timezone
    return offset


def normal(instant: datetime) -> datetime:
    """`instant` in the normal form (UTC when UTC holds it)."""
    return from_epoch_micros(epoch_micros(instant))


def in_zone(instant: datetime, zone: tzinfo) -> datetime:
    """The wall clock of `instant` in `zone` (what `astimezone` gives, also where the UTC
    datetime does not exist); OverflowError when that wall clock is outside years 1-9999."""
    try:
        return instant.astimezone(zone)
    except OverflowError:
        pass
    micros = epoch_micros(instant)
    # Within a day of the calendar's ends, where no zone changes its offset: start from the
    # offset at that end and settle it (a few steps at most, for a zone that would).
    edge = datetime.max.replace(tzinfo=zone) if micros > 0 else datetime.min.replace(tzinfo=zone)
    offset = edge.utcoffset()
    assert offset is not None
    for _ in range(3):
        wall = (_EPOCH + (timedelta(microseconds=micros) + offset)).replace(tzinfo=zone)
        found = wall.utcoffset()
        if found == offset:
            return wall
        assert found is not None
        offset = found
    raise OverflowError("no wall clock of the zone names this instant")
