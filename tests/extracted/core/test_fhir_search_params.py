"""FHIR search-parameter parsing: day-precision dates with prefixes, references, paging."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from rest_framework.exceptions import ValidationError

from extracted.core.fhir import DateRange, parse_date_param, parse_reference_param

CHICAGO = ZoneInfo("America/Chicago")


def day(y, m, d):
    return datetime(y, m, d, tzinfo=CHICAGO)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([], DateRange(None, None)),
        (["2026-11-21"], DateRange(day(2026, 11, 21), day(2026, 11, 22))),
        (["eq2026-11-21"], DateRange(day(2026, 11, 21), day(2026, 11, 22))),
        (["ge2026-11-21"], DateRange(day(2026, 11, 21), None)),
        (["gt2026-11-21"], DateRange(day(2026, 11, 22), None)),
        (["le2026-11-21"], DateRange(None, day(2026, 11, 22))),
        (["lt2026-11-21"], DateRange(None, day(2026, 11, 21))),
        (["ge2026-11-01", "lt2026-12-01"], DateRange(day(2026, 11, 1), day(2026, 12, 1))),
        (["ge2026-11-01", "ge2026-11-10"], DateRange(day(2026, 11, 10), None)),
    ],
)
def test_it_turns_date_values_into_a_half_open_range_of_hospital_days(values, expected):
    assert parse_date_param("date", values, CHICAGO) == expected


def test_a_day_is_a_local_day_even_across_a_clock_change():
    # 2026-11-01 is 25 hours long in Chicago (CDT → CST).
    found = parse_date_param("date", ["2026-11-01"], CHICAGO)
    assert found.lower is not None
    assert found.upper is not None

    # Same-zone datetime subtraction is wall-clock; the database compares instants (UTC).
    assert (found.upper.astimezone(UTC) - found.lower.astimezone(UTC)).total_seconds() == 25 * 3600


@pytest.mark.parametrize(
    "value", ["2026-02-30", "21/11/2026", "2026-11-21T10:00", "ne2026-11-21", "", "2026-11"]
)
def test_a_bad_date_is_refused_naming_the_parameter(value):
    with pytest.raises(ValidationError) as raised:
        parse_date_param("date", [value], CHICAGO)

    assert list(raised.value.detail) == ["date"]


@pytest.mark.parametrize(("value", "expected"), [("17", 17), ("Patient/17", 17), ("007", 7)])
def test_it_reads_an_id_or_a_typed_reference(value, expected):
    assert parse_reference_param("patient", value, "Patient") == expected


@pytest.mark.parametrize("value", ["Practitioner/3", "abc", "Patient/", "-1", "9" * 11])
def test_a_bad_reference_is_refused_naming_the_parameter(value):
    with pytest.raises(ValidationError) as raised:
        parse_reference_param("patient", value, "Patient")

    assert list(raised.value.detail) == ["patient"]
