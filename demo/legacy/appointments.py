"""Appointment reads and writes: the SQL behind the appointment book.

Writes follow one pattern: open a write transaction, lock what the decision depends on, check,
allocate the id from LEGACY_SEQ, write, commit. The slot check and the insert share that
transaction, and the lock makes it safe under concurrency:
- PostgreSQL/MariaDB: `SELECT ... FROM PROVIDER ... FOR UPDATE` serializes writers per provider;
  every write that can occupy a provider's slot (book, reschedule into it) takes that lock, and
  at READ COMMITTED (see db.py) the overlap query that follows sees every booking committed
  before the lock was granted. Locks are taken in one order (appointment row, provider row,
  LEGACY_SEQ row), so writers queue instead of deadlocking;
- SQLite: the transaction starts with BEGIN IMMEDIATE, which serializes all writers.
Only B (booked) and A (arrived) appointments occupy a slot; cancelled and no-show ones do not.
Rule violations raise `BookingError` subclasses, which the API layer maps to contract codes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine

from demo.legacy.db import (
    Row,
    execute,
    fetch_all,
    fetch_one,
    for_update,
    next_id,
    write_transaction,
)
from demo.legacy.legacy_time import parse_legacy_time, to_legacy_ts


class BookingError(Exception):
    """A write the legacy rules refuse."""


class AppointmentNotFoundError(BookingError):
    pass


class UnknownPatientError(BookingError):
    pass


class UnknownProviderError(BookingError):
    pass


class SlotTakenError(BookingError):
    pass


class AlreadyCancelledError(BookingError):
    pass


_SELECT = (
    "SELECT A.APPT_ID, A.PAT_ID, P.LAST_NM, P.FIRST_NM, A.PROV_ID, A.APPT_DT, A.APPT_TM,"
    " A.DUR_MIN, A.STATUS_CD, A.REASON_TXT, A.UPD_TS"
    " FROM APPT_SCHED A LEFT JOIN PATIENT_MASTER P ON P.PAT_ID = A.PAT_ID"
)


def to_contract(row: Row) -> dict[str, Any]:
    """The contract's appointment object, keys in contract order."""
    # Built here rather than in SQL: `||` means OR on MariaDB, and CONCAT is missing on old SQLite.
    pat_nm = f"{row['LAST_NM']}, {row['FIRST_NM']}" if row["LAST_NM"] is not None else ""
    return {
        "APPT_ID": row["APPT_ID"],
        "PAT_ID": row["PAT_ID"],
        "PAT_NM": pat_nm,
        "PROV_ID": row["PROV_ID"],
        "APPT_DT": row["APPT_DT"],
        "APPT_TM": row["APPT_TM"],
        "DUR_MIN": row["DUR_MIN"],
        "STATUS_CD": row["STATUS_CD"],
        "REASON_TXT": row["REASON_TXT"] or "",
        "UPD_TS": row["UPD_TS"],
    }


def list_for_day(conn: Connection, prov_id: int, appt_dt: str) -> list[dict[str, Any]]:
    rows = fetch_all(
        conn,
        f"{_SELECT} WHERE A.PROV_ID = :prov_id AND A.APPT_DT = :appt_dt"
        " ORDER BY A.APPT_TM, A.APPT_ID",
        {"prov_id": prov_id, "appt_dt": appt_dt},
    )
    return [to_contract(row) for row in rows]


def get(conn: Connection, appt_id: int) -> dict[str, Any] | None:
    row = fetch_one(conn, f"{_SELECT} WHERE A.APPT_ID = :appt_id", {"appt_id": appt_id})
    return None if row is None else to_contract(row)


def list_for_patient(conn: Connection, pat_id: int) -> list[Row]:
    """A patient's appointments with the provider's name, newest first (the chart view)."""
    return fetch_all(
        conn,
        "SELECT A.APPT_ID, A.PROV_ID, R.NAME AS PROV_NM, A.APPT_DT, A.APPT_TM, A.DUR_MIN,"
        " A.STATUS_CD, A.REASON_TXT FROM APPT_SCHED A LEFT JOIN PROVIDER R"
        " ON R.PROV_ID = A.PROV_ID WHERE A.PAT_ID = :pat_id"
        " ORDER BY A.APPT_DT DESC, A.APPT_TM DESC, A.APPT_ID DESC",
        {"pat_id": pat_id},
    )


def book(
    engine: Engine,
    now: datetime,
    *,
    pat_id: int,
    prov_id: int,
    appt_dt: str,
    appt_tm: str,
    dur_min: int,
    reason_txt: str,
) -> int:
    """Insert a booked (B) appointment and return its new APPT_ID."""
    with write_transaction(engine) as conn:
        provider_locked = _lock_provider(conn, prov_id)
        patient = fetch_one(
            conn, "SELECT PAT_ID FROM PATIENT_MASTER WHERE PAT_ID = :pat_id", {"pat_id": pat_id}
        )
        if patient is None:
            raise UnknownPatientError
        if not provider_locked:
            raise UnknownProviderError
        _check_slot(conn, prov_id, appt_dt, appt_tm, dur_min, ignore_appt_id=None)
        appt_id = next_id(conn, "APPT_ID")
        execute(
            conn,
            "INSERT INTO APPT_SCHED (APPT_ID, PAT_ID, PROV_ID, APPT_DT, APPT_TM, DUR_MIN,"
            " STATUS_CD, REASON_TXT, UPD_TS) VALUES (:appt_id, :pat_id, :prov_id, :appt_dt,"
            " :appt_tm, :dur_min, 'B', :reason_txt, :upd_ts)",
            {
                "appt_id": appt_id,
                "pat_id": pat_id,
                "prov_id": prov_id,
                "appt_dt": appt_dt,
                "appt_tm": appt_tm,
                "dur_min": dur_min,
                "reason_txt": reason_txt,
                "upd_ts": to_legacy_ts(now),
            },
        )
    return appt_id


def reschedule(
    engine: Engine,
    now: datetime,
    appt_id: int,
    *,
    appt_dt: str,
    appt_tm: str,
    dur_min: int | None,
    prov_id: int | None,
    reason_txt: str | None,
) -> None:
    """Move an appointment; None keeps the current duration, provider or reason."""
    with write_transaction(engine) as conn:
        current = _lock_appointment(conn, appt_id)
        if current["STATUS_CD"] == "C":
            raise AlreadyCancelledError
        new_prov_id = current["PROV_ID"] if prov_id is None else prov_id
        if not _lock_provider(conn, new_prov_id) and prov_id is not None:
            raise UnknownProviderError
        new_dur_min = current["DUR_MIN"] if dur_min is None else dur_min
        _check_slot(conn, new_prov_id, appt_dt, appt_tm, new_dur_min, ignore_appt_id=appt_id)
        execute(
            conn,
            "UPDATE APPT_SCHED SET PROV_ID = :prov_id, APPT_DT = :appt_dt, APPT_TM = :appt_tm,"
            " DUR_MIN = :dur_min, REASON_TXT = :reason_txt, UPD_TS = :upd_ts"
            " WHERE APPT_ID = :appt_id",
            {
                "appt_id": appt_id,
                "prov_id": new_prov_id,
                "appt_dt": appt_dt,
                "appt_tm": appt_tm,
                "dur_min": new_dur_min,
                "reason_txt": current["REASON_TXT"] if reason_txt is None else reason_txt,
                "upd_ts": to_legacy_ts(now),
            },
        )


def cancel(engine: Engine, now: datetime, appt_id: int) -> None:
    with write_transaction(engine) as conn:
        current = _lock_appointment(conn, appt_id)
        if current["STATUS_CD"] == "C":
            raise AlreadyCancelledError
        execute(
            conn,
            "UPDATE APPT_SCHED SET STATUS_CD = 'C', UPD_TS = :upd_ts WHERE APPT_ID = :appt_id",
            {"appt_id": appt_id, "upd_ts": to_legacy_ts(now)},
        )


def _lock_provider(conn: Connection, prov_id: int) -> bool:
    """Lock the provider row (the per-provider booking lock); False if there is no such row."""
    row = fetch_one(
        conn,
        f"SELECT PROV_ID FROM PROVIDER WHERE PROV_ID = :prov_id{for_update(conn)}",
        {"prov_id": prov_id},
    )
    return row is not None


def _lock_appointment(conn: Connection, appt_id: int) -> Row:
    row = fetch_one(
        conn,
        "SELECT APPT_ID, PROV_ID, DUR_MIN, STATUS_CD, REASON_TXT FROM APPT_SCHED"
        f" WHERE APPT_ID = :appt_id{for_update(conn)}",
        {"appt_id": appt_id},
    )
    if row is None:
        raise AppointmentNotFoundError
    return row


def _check_slot(
    conn: Connection,
    prov_id: int,
    appt_dt: str,
    appt_tm: str,
    dur_min: int,
    *,
    ignore_appt_id: int | None,
) -> None:
    """Raise SlotTakenError if [start, start + duration) overlaps a B or A appointment that day.

    A plain read, not FOR UPDATE: the caller holds the provider lock, which every write that
    can occupy this provider's slots also takes, and READ COMMITTED shows their committed rows.
    Locking the day's rows here as well would deadlock against a reschedule that already holds
    one of them while waiting for the provider.
    """
    start = parse_legacy_time(appt_tm)
    if start is None:
        raise ValueError(f"not a legacy time: {appt_tm!r}")
    end = start + dur_min
    taken = fetch_all(
        conn,
        "SELECT APPT_ID, APPT_TM, DUR_MIN FROM APPT_SCHED WHERE PROV_ID = :prov_id"
        " AND APPT_DT = :appt_dt AND STATUS_CD IN ('B', 'A') AND APPT_ID <> :ignore_id",
        {"prov_id": prov_id, "appt_dt": appt_dt, "ignore_id": ignore_appt_id or 0},
    )
    for other in taken:
        other_start = parse_legacy_time(other["APPT_TM"])
        if other_start is None:
            continue  # a garbled legacy row blocks nothing it cannot describe
        if start < other_start + other["DUR_MIN"] and other_start < end:
            raise SlotTakenError
