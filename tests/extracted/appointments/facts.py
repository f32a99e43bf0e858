"""Ids, days and slots of the seeded data, looked up (never hard-coded) from the golden file."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from tests.extracted.appointments.world import query


@dataclass(frozen=True)
class Facts:
    booked: int  # a B appointment
    booked_prov: int
    booked_dt: str
    booked_tm: str
    other_booked: int  # a second B appointment (same provider, another slot if possible)
    cancelled: int
    arrived: int
    unknown_appt: int
    patient: int
    unknown_patient: int
    free_tm: str  # a time nobody is booked at on booked_dt (before office hours)
    empty_dt: str  # a day the booked provider has no appointment (a Sunday)
    unknown_prov: int


def facts_of(golden: Path) -> Facts:
    (booked, prov, day, tm), *_ = query(
        golden,
        "SELECT APPT_ID, PROV_ID, APPT_DT, APPT_TM FROM APPT_SCHED WHERE STATUS_CD = 'B'"
        " ORDER BY APPT_ID",
    )
    (other,), *_ = query(
        golden,
        "SELECT APPT_ID FROM APPT_SCHED WHERE STATUS_CD = 'B' AND APPT_ID <> ? AND PROV_ID = ?"
        " ORDER BY APPT_ID",
        booked,
        prov,
    )
    (cancelled,), *_ = query(
        golden, "SELECT APPT_ID FROM APPT_SCHED WHERE STATUS_CD = 'C' ORDER BY APPT_ID"
    )
    (arrived,), *_ = query(
        golden, "SELECT APPT_ID FROM APPT_SCHED WHERE STATUS_CD = 'A' ORDER BY APPT_ID"
    )
    ((max_id, earliest),) = query(golden, "SELECT MAX(APPT_ID), MIN(APPT_TM) FROM APPT_SCHED")
    ((patient, max_patient),) = query(golden, "SELECT MIN(PAT_ID), MAX(PAT_ID) FROM PATIENT_MASTER")
    ((max_prov,),) = query(golden, "SELECT MAX(PROV_ID) FROM PROVIDER")
    free_tm = "0600"
    assert free_tm < earliest  # nobody is booked that early, so the slot is free
    (sunday,), *_ = query(
        golden,
        "SELECT DISTINCT APPT_DT FROM APPT_SCHED ORDER BY APPT_DT",
    )
    return Facts(
        booked=booked,
        booked_prov=prov,
        booked_dt=day,
        booked_tm=tm,
        other_booked=other,
        cancelled=cancelled,
        arrived=arrived,
        unknown_appt=max_id + 1000,
        patient=patient,
        unknown_patient=max_patient + 1000,
        free_tm=free_tm,
        empty_dt=_sunday_before(sunday),
        unknown_prov=max_prov + 50,
    )


def _sunday_before(first_day: str) -> str:
    """The Sunday before the first seeded day: no appointment exists before the first day."""
    day = date(int(first_day[:4]), int(first_day[4:6]), int(first_day[6:]))
    day -= timedelta(days=(day.weekday() + 1) % 7 or 7)
    return day.strftime("%Y%m%d")
