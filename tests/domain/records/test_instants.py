"""domain.records.instants: instants in microseconds, for the whole legacy calendar in any zone.

The stored form (microseconds since 1970) must give back the very instant, the normal form must
be UTC whenever UTC holds the instant (ordinary dates unchanged), and `in_zone` must agree with
`astimezone` wherever that works, and keep working where it overflows.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from domain.records.instants import (
    FIRST_INSTANT,
    LAST_INSTANT,
    epoch_micros,
    from_epoch_micros,
    in_zone,
    normal,
)

ZONES = ("America/Chicago", "Etc/GMT+12", "Asia/Tokyo", "Pacific/Kiritimati", "Etc/GMT-14")
zones = st.sampled_from(ZONES).map(ZoneInfo)
walls = st.datetimes(datetime(1, 1, 1), datetime(9999, 12, 31, 23, 59, 59, 999_999))


@given(wall=walls, zone=zones)
@example(wall=datetime(9999, 12, 31, 23, 30), zone=ZoneInfo("America/Chicago"))
@example(wall=datetime(1, 1, 1), zone=ZoneInfo("Asia/Tokyo"))
def test_a_wall_time_in_any_zone_survives_the_stored_form(wall: datetime, zone: ZoneInfo):
    local = wall.replace(tzinfo=zone)
    stored = from_epoch_micros(epoch_micros(local))
    assert stored == local
    assert stored == normal(local)
    assert in_zone(stored, zone).replace(tzinfo=None, fold=0) == in_zone(local, zone).replace(
        tzinfo=None, fold=0
    )


@given(instant=st.datetimes(timezones=st.just(UTC)), zone=zones)
def test_the_normal_form_of_an_instant_utc_holds_is_that_utc_datetime(instant, zone):
    assert normal(instant) == instant
    assert normal(instant).tzinfo is UTC
    if _fits(instant, zone):
        assert in_zone(instant, zone) == instant.astimezone(zone)
        assert in_zone(instant, zone).utcoffset() == instant.astimezone(zone).utcoffset()


def _fits(instant: datetime, zone: ZoneInfo) -> bool:
    try:
        instant.astimezone(zone)
    except OverflowError:
        return False
    return True


def test_micros_order_as_the_instants_do_and_the_ends_are_the_widest():
    chicago, tokyo = ZoneInfo("America/Chicago"), ZoneInfo("Asia/Tokyo")
    late = datetime(9999, 12, 31, 23, 30, tzinfo=chicago)  # 10000-01-01 05:30 UTC
    early = datetime(1, 1, 1, tzinfo=tokyo)  # 0000-12-31 14:41:01 UTC
    assert epoch_micros(FIRST_INSTANT) < epoch_micros(early) < 0
    assert 0 < epoch_micros(datetime.max.replace(tzinfo=UTC)) < epoch_micros(late)
    assert epoch_micros(late) < epoch_micros(LAST_INSTANT)
    assert in_zone(normal(late), chicago).replace(tzinfo=None) == datetime(9999, 12, 31, 23, 30)
    assert in_zone(normal(early), tokyo).replace(tzinfo=None) == datetime(1, 1, 1)
    assert normal(late) - normal(early) == late - early
    with pytest.raises(OverflowError):
        from_epoch_micros(epoch_micros(LAST_INSTANT) + 1)
    with pytest.raises(OverflowError):  # 9999-12-31 23:30 Chicago is 10000-01-01 in Tokyo
        in_zone(late, tokyo)
