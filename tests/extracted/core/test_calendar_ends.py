"""The date helpers at the calendar's ends, in zones west and east of Greenwich (Hypothesis).

Every wall time legacy can hold, 0001-01-01 00:00 to 9999-12-31 23:59 in whole minutes, is an
instant for the service: it decodes, encodes back to the same APPT_DT/APPT_TM, lies in its
local day's bounds and ends `minutes` later. West of Greenwich the last hours of 99991231 are
year 10000 in UTC; east of it the first hours of 00010101 are year 0 (Tokyo kept local mean
time, +9:18:59): both used to be refused or to overflow.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from domain.records import LocalDateTimeCodec, MappingError
from extracted.core.calendar_ends import LAST_INSTANT, day_bounds, end_of, shifted

WEST = ("America/Chicago", "Etc/GMT+12", "America/Anchorage")
EAST = ("Asia/Tokyo", "Pacific/Kiritimati", "Etc/GMT-14")
zones = st.sampled_from(WEST + EAST).map(ZoneInfo)
wall_times = st.datetimes(datetime(1, 1, 1), datetime(9999, 12, 31, 23, 59)).map(
    lambda moment: moment.replace(second=0, microsecond=0)
)
FIRST_WALL = datetime(1, 1, 1)
LAST_WALL = datetime(9999, 12, 31, 23, 59)


def _legacy(wall: datetime) -> tuple[str, str]:
    return f"{wall.year:04d}{wall.month:02d}{wall.day:02d}", f"{wall.hour:02d}{wall.minute:02d}"


def _micros(delta: timedelta) -> int:
    return delta // timedelta(microseconds=1)


def _gap(wall: datetime, zone: ZoneInfo) -> bool:
    """Whether `wall` is in a daylight-saving gap of `zone` (PEP 495: there, fold=1 has the
    offset after the jump, which is larger), a time that never happened."""
    early = wall.replace(tzinfo=zone).utcoffset()
    late = wall.replace(tzinfo=zone, fold=1).utcoffset()
    assert early is not None
    assert late is not None
    return late > early


@given(wall=wall_times, zone=zones)
@example(wall=datetime(9999, 12, 31, 23, 30), zone=ZoneInfo("America/Chicago"))
@example(wall=LAST_WALL, zone=ZoneInfo("Etc/GMT+12"))
@example(wall=FIRST_WALL, zone=ZoneInfo("Asia/Tokyo"))
@example(wall=FIRST_WALL, zone=ZoneInfo("Etc/GMT-14"))
@example(wall=LAST_WALL, zone=ZoneInfo("Pacific/Kiritimati"))
def test_every_legacy_wall_time_is_an_instant_that_comes_back(wall: datetime, zone: ZoneInfo):
    codec = LocalDateTimeCodec(zone)
    day, clock = _legacy(wall)
    if _gap(wall, zone):
        with pytest.raises(MappingError):
            codec.decode(day, clock)
        return
    instant = codec.decode(day, clock)  # any other wall time of years 1-9999 is an instant
    assert codec.encode(instant) == (day, clock)
    start, end = day_bounds(wall.date(), zone)
    assert start <= instant
    assert end is None or instant < end
    assert (end is None) == (wall.date() == date.max)


@given(wall=wall_times, zone=zones)
@example(wall=FIRST_WALL, zone=ZoneInfo("Asia/Tokyo"))
@example(wall=datetime(9999, 12, 31, 23, 30), zone=ZoneInfo("America/Chicago"))
def test_instants_that_utc_can_hold_are_in_utc_as_before(wall: datetime, zone: ZoneInfo):
    """Ordinary dates keep their answers: the start is the same UTC datetime as ever."""
    if _gap(wall, zone):
        return
    instant = LocalDateTimeCodec(zone).decode(*_legacy(wall))
    try:
        in_utc = wall.replace(tzinfo=zone).astimezone(UTC)
    except OverflowError:
        assert instant.utcoffset() != timedelta()  # same instant, at an offset that holds it
        return
    assert instant == in_utc
    assert instant.tzinfo is UTC


@given(
    wall=wall_times,
    zone=zones,
    minutes=st.integers(1, 24 * 60),
)
@example(wall=datetime(9999, 12, 31, 23, 30), zone=ZoneInfo("America/Chicago"), minutes=240)
@example(wall=FIRST_WALL, zone=ZoneInfo("Asia/Tokyo"), minutes=15)
@example(wall=datetime(9999, 12, 31, 23, 0), zone=ZoneInfo("Pacific/Kiritimati"), minutes=90)
@example(wall=datetime(9999, 12, 31, 23, 30), zone=ZoneInfo("America/Chicago"), minutes=1440)
@example(wall=datetime(9999, 12, 31, 18, 0), zone=ZoneInfo("Etc/GMT+12"), minutes=1440)
def test_an_end_is_its_start_plus_the_minutes(wall: datetime, zone: ZoneInfo, minutes: int):
    if _gap(wall, zone):
        return
    start = LocalDateTimeCodec(zone).decode(*_legacy(wall))
    try:
        end = end_of(start, minutes, zone)
    except OverflowError:
        # Only where no aware datetime names the end (past the last instant of all); it used
        # to be clamped there, an end fewer minutes after the start than the appointment has.
        assert LAST_INSTANT - start < timedelta(minutes=minutes)
        return
    assert end - start == timedelta(minutes=minutes)
    assert end == shifted(start, timedelta(minutes=minutes))
    # On the hospital's wall clock whenever that clock reaches it (no zone changes its clocks
    # on the calendar's last day), else the same instant at an offset that holds it.
    assert (end.tzinfo is zone) == (datetime.max - wall >= timedelta(minutes=minutes))


@given(first=wall_times, second=wall_times, zone=zones)
@example(first=datetime(9999, 12, 31, 17, 59), second=LAST_WALL, zone=ZoneInfo("America/Chicago"))
@example(first=FIRST_WALL, second=datetime(1, 1, 1, 9, 30), zone=ZoneInfo("Asia/Tokyo"))
def test_instants_order_as_their_wall_times_in_a_day(
    first: datetime, second: datetime, zone: ZoneInfo
):
    second = datetime.combine(first.date(), second.time())
    if _gap(first, zone) or _gap(second, zone):
        return
    codec = LocalDateTimeCodec(zone)
    a, b = codec.decode(*_legacy(first)), codec.decode(*_legacy(second))
    assert (a < b) == (first < second)
    assert (a == b) == (first == second)


@given(zone=zones, days=st.integers(-3, 3))
def test_a_shift_past_either_end_stops_there(zone: ZoneInfo, days: int):
    for wall in (FIRST_WALL, LAST_WALL):
        start = LocalDateTimeCodec(zone).decode(*_legacy(wall))
        moved = shifted(start, timedelta(days=days))
        assert abs(_micros(moved - start)) <= abs(_micros(timedelta(days=days)))
