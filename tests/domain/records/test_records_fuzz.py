"""Fuzzing the record codecs: any legacy row maps to a clean record or fails with a
MappingError that names the column (never the value), and every row that maps comes back to
the same legacy row (G3: legacy → clean → legacy is the identity).

Bounded in `make test` (the `ci` Hypothesis profile), long in `make fuzz`. Rows are the
contract examples with their columns replaced by hostile values: Unicode digits, the calendar's
ends, daylight-saving gaps, the local-mean-time years before 1883, over-long and unstorable text.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from domain.records import LocalDateTimeCodec, MappingError
from legacy_adapter.mapping.appointments import appointment_from_legacy, appointment_to_legacy
from legacy_adapter.mapping.patients import patient_from_legacy, patient_to_legacy
from tests.support.hostile_text import fullwidth

pytestmark = pytest.mark.fuzz

ZONES = ("America/Chicago", "Europe/London", "Australia/Lord_Howe", "Asia/Kolkata", "UTC")
APPOINTMENT = {
    "APPT_ID": 1, "PAT_ID": 17, "PAT_NM": "DOE, JANE", "PROV_ID": 3, "APPT_DT": "20261121",
    "APPT_TM": "0930", "DUR_MIN": 15, "STATUS_CD": "B", "REASON_TXT": "FOLLOW UP",
    "UPD_TS": "20261120083000",
}  # fmt: skip
PATIENT = {
    "PAT_ID": 17, "MRN": "M0000017", "LAST_NM": "DOE", "FIRST_NM": "JANE", "DOB": "19800101",
    "SEX_CD": "F", "SSN": "123-45-6789", "PHONE": "555-0100", "ADDR1": "1 MAIN ST",
    "CITY": "SPRINGFIELD", "ST": "IL", "ZIP": "62701", "UPD_TS": "20261120083000",
}  # fmt: skip

eight_digit_dates = st.sampled_from(
    [
        "00010101",
        "99991231",
        "18830101",
        "18831118",
        "18000101",
        "19000229",
        "20240229",
        "20260308",
        "20261101",
        "2026111²",
        "20261321",
        fullwidth("20261121"),
        "2026-11-",
        "",
    ]
) | st.dates(min_value=date(1, 1, 1)).map(lambda d: f"{d.year:04d}{d.month:02d}{d.day:02d}")
times = st.sampled_from(
    ["0000", "2359", "0200", "0230", "0130", "2400", "0960", "93", fullwidth("0930")]
) | st.tuples(st.integers(0, 23), st.integers(0, 59)).map(lambda t: f"{t[0]:02d}{t[1]:02d}")
texts = st.sampled_from(["", "DOE, JANE", "ß" * 20, "x" * 61, "A\x00B", "\ud800", "O'NEIL"]) | (
    st.text(max_size=70)
)
integers = st.sampled_from([0, 1, -1, 2**31 - 1, 2**31, True, None, "7"]) | st.integers()
timestamps = st.sampled_from(["20261120083000", "20261120246000", "99991231235959", "0"])

APPOINTMENT_VALUES = {
    "APPT_ID": integers, "PAT_ID": integers, "PAT_NM": texts | st.none(), "PROV_ID": integers,
    "APPT_DT": eight_digit_dates, "APPT_TM": times, "DUR_MIN": integers,
    "STATUS_CD": st.sampled_from(["B", "C", "N", "X", "b", "", None]),
    "REASON_TXT": texts | st.none(), "UPD_TS": timestamps,
}  # fmt: skip
PATIENT_VALUES = {
    "PAT_ID": integers, "MRN": texts, "LAST_NM": texts, "FIRST_NM": texts,
    "DOB": eight_digit_dates, "SEX_CD": st.sampled_from(["F", "M", "U", "X", "", None]),
    "SSN": st.sampled_from(["123-45-6789", "123456789", fullwidth("123") + "-45-6789", None]),
    "PHONE": texts | st.none(), "ADDR1": texts | st.none(), "CITY": texts | st.none(),
    "ST": texts | st.none(), "ZIP": texts | st.none(), "UPD_TS": timestamps,
}  # fmt: skip


@st.composite
def hostile_rows(
    draw: st.DrawFn, base: dict[str, object], values: Mapping[str, st.SearchStrategy[object]]
) -> dict[str, object]:
    replaced = draw(st.sets(st.sampled_from(sorted(values)), max_size=4))
    return {key: draw(values[key]) if key in replaced else value for key, value in base.items()}


def _mapping_refused(error: MappingError, columns: set[str]) -> None:
    assert error.column is not None
    assert set(error.column.split("+")) <= columns
    assert error.problem


@given(row=hostile_rows(APPOINTMENT, APPOINTMENT_VALUES), zone=st.sampled_from(ZONES))
@example(row={**APPOINTMENT, "APPT_DT": "18000101"}, zone="America/Chicago")
@example(row={**APPOINTMENT, "APPT_DT": "99991231", "APPT_TM": "2359"}, zone="America/Chicago")
@example(row={**APPOINTMENT, "APPT_DT": "00010101", "APPT_TM": "0000"}, zone="Asia/Kolkata")
def test_an_appointment_row_maps_back_to_itself_or_names_its_column(
    row: dict[str, object], zone: str
) -> None:
    try:
        record = appointment_from_legacy(row, zone)
    except MappingError as refused:
        _mapping_refused(refused, set(row))
        return
    expected = {**row, "REASON_TXT": row["REASON_TXT"] or "", "PAT_NM": row["PAT_NM"] or ""}
    assert appointment_to_legacy(record, zone) == expected


@given(row=hostile_rows(PATIENT, PATIENT_VALUES))
@example(row={**PATIENT, "DOB": "00010101"})
@example(row={**PATIENT, "LAST_NM": "ß" * 20})
def test_a_patient_row_maps_back_to_itself_or_names_its_column(row: dict[str, object]) -> None:
    try:
        record = patient_from_legacy(row)
    except MappingError as refused:
        _mapping_refused(refused, set(row))
        return
    optional = ("PHONE", "ADDR1", "CITY", "ST", "ZIP")
    expected = {**row, **{key: row[key] or None for key in optional}}
    assert patient_to_legacy(record) == expected


@given(day=eight_digit_dates, clock=times, zone=st.sampled_from(ZONES))
def test_a_local_wall_time_comes_back_as_the_same_wall_time(day: str, clock: str, zone: str):
    """Every wall time legacy can hold either maps (and comes back unchanged) or is refused
    for a reason: the daylight-saving gap, or a date or time that is not one."""
    codec = LocalDateTimeCodec(ZoneInfo(zone))
    instant = _decoded_or_refusal(codec, day, clock)
    if isinstance(instant, MappingError):
        assert instant.column in ("APPT_DT", "APPT_TM", "APPT_DT+APPT_TM")
        return
    assert codec.encode(instant) == (day, clock)


def _decoded_or_refusal(codec: LocalDateTimeCodec, day: str, clock: str) -> datetime | MappingError:
    try:
        return codec.decode(day, clock)
    except MappingError as refused:
        return refused
