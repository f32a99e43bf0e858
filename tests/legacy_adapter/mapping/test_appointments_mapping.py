"""The appointment mapping: round trips on many generated rows, DST edges, every rejection."""

from __future__ import annotations

import random
import string
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from domain.records import (
    CodeCodec,
    DisplayNameCodec,
    IntRangeCodec,
    LegacyDateCodec,
    LegacyTimeCodec,
    LocalDateTimeCodec,
    MappingError,
    PersonName,
    PersonNameCodec,
    TextCodec,
    UtcTimestampCodec,
    format_person_name,
)
from legacy_adapter.mapping.appointments import (
    LEGACY_APPOINTMENT_KEYS,
    STATUS_CODES,
    AppointmentStatus,
    appointment_from_legacy,
    appointment_to_legacy,
)

CHICAGO = "America/Chicago"
# Zones with ordinary, inverted (southern) and 30-minute DST shifts, and none at all.
ZONES = ("America/Chicago", "Europe/London", "Australia/Lord_Howe", "Asia/Kolkata", "UTC")

CONTRACT_EXAMPLE = {
    "APPT_ID": 1,
    "PAT_ID": 17,
    "PAT_NM": "DOE, JANE",
    "PROV_ID": 3,
    "APPT_DT": "20261121",
    "APPT_TM": "0930",
    "DUR_MIN": 15,
    "STATUS_CD": "B",
    "REASON_TXT": "FOLLOW UP",
    "UPD_TS": "20261120083000",
}


def row(**changes: object) -> dict[str, object]:
    return {**CONTRACT_EXAMPLE, **changes}


def test_it_maps_the_contract_example_to_clean_values():
    record = appointment_from_legacy(CONTRACT_EXAMPLE, CHICAGO)

    assert record.id == 1
    assert record.patient_id == 17
    assert record.patient_display_name == "DOE, JANE"
    assert record.provider_id == 3
    # 09:30 in Chicago on 21 Nov 2026 is standard time, UTC-6.
    assert record.starts_at == datetime(2026, 11, 21, 15, 30, tzinfo=UTC)
    assert record.duration_minutes == 15
    assert record.status is AppointmentStatus.BOOKED
    assert record.reason == "FOLLOW UP"
    assert record.source_updated_at == datetime(2026, 11, 20, 8, 30, tzinfo=UTC)


def test_it_renders_the_legacy_object_with_the_legacy_key_order():
    legacy = appointment_to_legacy(appointment_from_legacy(CONTRACT_EXAMPLE, CHICAGO), CHICAGO)

    assert list(legacy) == list(LEGACY_APPOINTMENT_KEYS)
    assert legacy == CONTRACT_EXAMPLE


def test_every_status_code_maps_both_ways():
    for code, status in STATUS_CODES.items():
        record = appointment_from_legacy(row(STATUS_CD=code), CHICAGO)
        assert record.status is status
        assert appointment_to_legacy(record, CHICAGO)["STATUS_CD"] == code
    assert {s.value for s in STATUS_CODES.values()} == {"booked", "cancelled", "no_show", "arrived"}


# -- property-style round trips ------------------------------------------------------------


def _in_dst_gap(day: date, hhmm: str, zone: ZoneInfo) -> bool:
    """Independent of the codec: PEP 495 says fold=0 uses the earlier offset in a gap."""
    wall = datetime.combine(day, time(int(hhmm[:2]), int(hhmm[2:])))
    before = wall.replace(tzinfo=zone, fold=0).utcoffset()
    after = wall.replace(tzinfo=zone, fold=1).utcoffset()
    assert before is not None
    assert after is not None
    return before < after


def _random_name(rng: random.Random, max_length: int) -> str:
    alphabet = string.ascii_uppercase + " '-ÉÑ"
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(1, max_length))).strip() or "X"


def _random_row(rng: random.Random, transitions: list[date]) -> dict[str, object]:
    # Half the rows fall on DST transition days, where the edge cases live.
    if rng.random() < 0.5:
        day = rng.choice(transitions)
        hhmm = f"{rng.choice((0, 1, 2, 3, 23)):02d}{rng.randrange(60):02d}"
    else:
        day = date(2024, 1, 1) + timedelta(days=rng.randrange(7 * 365))
        hhmm = f"{rng.randrange(24):02d}{rng.randrange(60):02d}"
    updated = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randrange(10**8))
    reason_chars = string.ascii_letters + string.digits + " ,.'/-é"
    return {
        "APPT_ID": rng.randint(1, 2**31 - 1),
        "PAT_ID": rng.randint(1, 2**31 - 1),
        "PAT_NM": format_person_name(_random_name(rng, 35), _random_name(rng, 25)),
        "PROV_ID": rng.randint(1, 5000),
        "APPT_DT": day.strftime("%Y%m%d"),
        "APPT_TM": hhmm,
        "DUR_MIN": rng.randint(1, 1440),
        "STATUS_CD": rng.choice("BCNA"),
        "REASON_TXT": "".join(rng.choice(reason_chars) for _ in range(rng.randint(0, 80))),
        "UPD_TS": updated.strftime("%Y%m%d%H%M%S"),
    }


def _transition_days(zone: ZoneInfo) -> list[date]:
    days: list[date] = []
    for year in (2025, 2026, 2027):
        for ordinal in range(date(year, 1, 1).toordinal(), date(year, 12, 31).toordinal()):
            day = date.fromordinal(ordinal)
            noon_before = datetime.combine(day, time(0), tzinfo=zone).utcoffset()
            noon_after = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).utcoffset()
            if noon_before != noon_after:
                days.extend((day, day + timedelta(days=1)))
    return days or [date(2026, 3, 8)]


@pytest.mark.parametrize("zone_name", ZONES)
def test_legacy_to_clean_to_legacy_is_the_identity_on_valid_rows(zone_name):
    zone = ZoneInfo(zone_name)
    rng = random.Random(f"round-trip:{zone_name}")
    transitions = _transition_days(zone)
    checked = gaps = 0
    for _ in range(3000):
        legacy = _random_row(rng, transitions)
        day = datetime.strptime(str(legacy["APPT_DT"]), "%Y%m%d").date()
        if _in_dst_gap(day, str(legacy["APPT_TM"]), zone):
            with pytest.raises(MappingError) as caught:
                appointment_from_legacy(legacy, zone_name)
            assert caught.value.column == "APPT_DT+APPT_TM"
            gaps += 1
            continue
        assert (
            appointment_to_legacy(appointment_from_legacy(legacy, zone_name), zone_name) == legacy
        )
        checked += 1
    assert checked > 2000
    if zone_name in ("America/Chicago", "Europe/London", "Australia/Lord_Howe"):
        assert gaps > 0  # the generator did reach the gaps it is meant to probe


@pytest.mark.parametrize("zone_name", ZONES)
def test_clean_to_legacy_to_clean_is_the_identity_except_the_repeated_hour(zone_name):
    zone = ZoneInfo(zone_name)
    codec = LocalDateTimeCodec(zone)
    rng = random.Random(f"instants:{zone_name}")
    start = datetime(2025, 1, 1, tzinfo=UTC)
    repeated = 0
    for _ in range(5000):
        instant = start + timedelta(minutes=rng.randrange(3 * 365 * 24 * 60))
        back = codec.decode(*codec.encode(instant))
        if instant.astimezone(zone).fold == 1:
            # The second 01:30 of a fall-back night reads back as the first one.
            assert back < instant
            repeated += 1
        else:
            assert back == instant


# -- daylight-saving edges, America/Chicago 2026 -------------------------------------------


@pytest.mark.parametrize("hhmm", ["0200", "0230", "0259"])
def test_a_time_in_the_spring_forward_gap_is_rejected_as_unmappable(hhmm):
    with pytest.raises(MappingError) as caught:
        appointment_from_legacy(row(APPT_DT="20260308", APPT_TM=hhmm), CHICAGO)

    assert caught.value.column == "APPT_DT+APPT_TM"
    assert "daylight-saving gap" in str(caught.value)
    assert hhmm not in str(caught.value)


def test_the_minutes_around_the_gap_are_one_minute_apart_in_utc():
    before = appointment_from_legacy(row(APPT_DT="20260308", APPT_TM="0159"), CHICAGO)
    after = appointment_from_legacy(row(APPT_DT="20260308", APPT_TM="0300"), CHICAGO)

    assert before.starts_at == datetime(2026, 3, 8, 7, 59, tzinfo=UTC)
    assert after.starts_at == datetime(2026, 3, 8, 8, 0, tzinfo=UTC)


def test_a_time_in_the_fall_back_overlap_is_its_first_occurrence():
    record = appointment_from_legacy(row(APPT_DT="20261101", APPT_TM="0130"), CHICAGO)

    assert record.starts_at == datetime(2026, 11, 1, 6, 30, tzinfo=UTC)  # CDT, UTC-5
    codec = LocalDateTimeCodec(ZoneInfo(CHICAGO))
    # The second 01:30 (CST) has the same legacy spelling: the format cannot tell them apart.
    assert codec.encode(datetime(2026, 11, 1, 7, 30, tzinfo=UTC)) == ("20261101", "0130")


# -- every codec's rejections --------------------------------------------------------------

REJECTED = [
    (LegacyDateCodec(), "2026112"),
    (LegacyDateCodec(), "2026-1121"),
    (LegacyDateCodec(), "20261131"),
    (LegacyDateCodec(), "20260229"),
    (LegacyDateCodec(), "20261121 "),
    (LegacyDateCodec(), "\uff12\uff10\uff12\uff16\uff11\uff11\uff12\uff11"),  # fullwidth
    (LegacyDateCodec(), 20261121),
    (LegacyDateCodec(), None),
    (LegacyTimeCodec(), "930"),
    (LegacyTimeCodec(), "2400"),
    (LegacyTimeCodec(), "1260"),
    (LegacyTimeCodec(), "09:3"),
    (LegacyTimeCodec(), "\u00b9\u00b2\u00b3\u2074"),  # superscript digits
    (LegacyTimeCodec(), 930),
    (UtcTimestampCodec(), "2026112008300"),
    (UtcTimestampCodec(), "20261120246000"),
    (UtcTimestampCodec(), "20261131083000"),
    (UtcTimestampCodec(), "20261120083060"),
    (UtcTimestampCodec(), None),
    (CodeCodec(STATUS_CODES), "X"),
    (CodeCodec(STATUS_CODES), "b"),
    (CodeCodec(STATUS_CODES), ""),
    (CodeCodec(STATUS_CODES), None),
    (IntRangeCodec(), True),
    (IntRangeCodec(), "5"),
    (IntRangeCodec(), 0),
    (IntRangeCodec(), -3),
    (IntRangeCodec(), 2**31),
    (IntRangeCodec(), 1.0),
    (IntRangeCodec(1, 1440), 1441),
    (TextCodec(max_length=80), "Y" * 81),
    (TextCodec(max_length=80), 42),
    (PersonNameCodec(), "DOE JANE"),
    (PersonNameCodec(), ", JANE"),
    (PersonNameCodec(), "DOE, "),
    (PersonNameCodec(), None),
    (PersonNameCodec(), "D" * 40 + ", " + "J" * 21),
    (DisplayNameCodec(), "D" * 63),  # longer than LAST_NM + ", " + FIRST_NM can be
    (DisplayNameCodec(), 17),
]


@pytest.mark.parametrize(("codec", "raw"), REJECTED, ids=lambda v: repr(v)[:30])
def test_each_codec_rejects_bad_legacy_values_without_echoing_them(codec, raw):
    with pytest.raises(MappingError) as caught:
        codec.decode(raw)

    assert isinstance(caught.value, ValueError)
    assert caught.value.problem
    if isinstance(raw, str) and len(raw) > 2:
        assert raw not in str(caught.value)
    # Library errors that would echo the value are not chained either.
    error = caught.value
    assert error.__cause__ is None
    assert error.__context__ is None or error.__suppress_context__


ENCODE_REJECTED = [
    (LegacyDateCodec(), datetime(2026, 1, 1, tzinfo=UTC)),
    (LegacyTimeCodec(), time(9, 30, 15)),
    (LegacyTimeCodec(), time(9, 30, tzinfo=UTC)),
    (UtcTimestampCodec(), datetime(2026, 1, 1, 9, 30)),
    (UtcTimestampCodec(), datetime(2026, 1, 1, 9, 30, 0, 5, tzinfo=UTC)),
    (LocalDateTimeCodec(ZoneInfo(CHICAGO)), datetime(2026, 1, 1, 9, 30)),
    (LocalDateTimeCodec(ZoneInfo(CHICAGO)), datetime(2026, 1, 1, 9, 30, 1, tzinfo=UTC)),
    (CodeCodec({"B": AppointmentStatus.BOOKED}), AppointmentStatus.CANCELLED),
    (IntRangeCodec(1, 1440), 0),
    (TextCodec(max_length=3), "LONG"),
    (TextCodec(max_length=3), None),
    (PersonNameCodec(), PersonName(last="SMITH, JR", first="JOHN")),
    (PersonNameCodec(), PersonName(last="", first="JOHN")),
    (DisplayNameCodec(), "X" * 63),
]


@pytest.mark.parametrize(("codec", "value"), ENCODE_REJECTED, ids=lambda v: repr(v)[:30])
def test_each_codec_refuses_clean_values_the_legacy_format_cannot_hold(codec, value):
    with pytest.raises(MappingError):
        codec.encode(value)


def test_a_status_table_must_not_give_two_codes_one_meaning():
    with pytest.raises(ValueError, match="exactly one legacy code"):
        CodeCodec({"B": AppointmentStatus.BOOKED, "X": AppointmentStatus.BOOKED})


def test_local_date_time_errors_name_the_column_that_is_wrong():
    with pytest.raises(MappingError) as bad_date:
        appointment_from_legacy(row(APPT_DT="20261131"), CHICAGO)
    with pytest.raises(MappingError) as bad_time:
        appointment_from_legacy(row(APPT_TM="2460"), CHICAGO)

    assert bad_date.value.column == "APPT_DT"
    assert bad_time.value.column == "APPT_TM"
    assert str(bad_time.value).startswith("APPT_TM: ")


@pytest.mark.parametrize(
    ("column", "value"),
    [("APPT_ID", 0), ("PAT_ID", "17"), ("PROV_ID", None), ("DUR_MIN", 0), ("STATUS_CD", "Z"),
     ("REASON_TXT", "R" * 81), ("UPD_TS", "2026"), ("PAT_NM", "D" * 63)],
)  # fmt: skip
def test_a_bad_value_is_reported_against_its_column(column, value):
    with pytest.raises(MappingError) as caught:
        appointment_from_legacy(row(**{column: value}), CHICAGO)

    assert caught.value.column == column


def test_a_row_missing_a_column_names_it():
    incomplete = row()
    del incomplete["DUR_MIN"]

    with pytest.raises(MappingError, match=r"^DUR_MIN: is missing from the row$"):
        appointment_from_legacy(incomplete, CHICAGO)


def test_a_null_reason_reads_as_empty_the_one_normalization():
    record = appointment_from_legacy(row(REASON_TXT=None), CHICAGO)

    assert record.reason == ""
    assert appointment_to_legacy(record, CHICAGO)["REASON_TXT"] == ""


def test_a_missing_patient_row_maps_to_the_empty_name_the_legacy_app_shows():
    assert format_person_name(None, None) == ""
    record = appointment_from_legacy(row(PAT_NM=format_person_name(None, None)), CHICAGO)

    assert record.patient_display_name == ""
    assert appointment_to_legacy(record, CHICAGO)["PAT_NM"] == ""


def test_person_names_split_at_the_first_separator_and_keep_their_spelling():
    codec = PersonNameCodec()

    assert codec.decode("DOE, MARY JANE") == PersonName(last="DOE", first="MARY JANE")
    assert codec.decode("SMITH, JR, JOHN") == PersonName(last="SMITH", first="JR, JOHN")
    assert codec.encode(PersonName(last="O'NEIL", first="Ann")) == "O'NEIL, Ann"
    assert DisplayNameCodec().decode("SMITH, JR, JOHN") == "SMITH, JR, JOHN"


def test_the_patients_name_on_an_appointment_is_kept_as_legacy_shows_it():
    """Derived data: an odd patient row (an empty first name, no separator) is the patients
    feature's to refuse; the appointment shows what the legacy app shows (finding 9)."""
    codec = DisplayNameCodec()
    assert codec.decode("DOE, ") == "DOE, "
    assert codec.decode("DOE") == "DOE"
    assert codec.decode(None) == ""  # no person row: the legacy LEFT JOIN shows ""
    assert codec.encode("DOE, ") == "DOE, "
