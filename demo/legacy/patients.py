"""Patient search and demographics.

Search takes what the front desk types: an MRN (`M0000123`, exact), a last-name prefix (`korv`)
or `LAST,FIRST` prefixes (`korv,ma`). Names are stored upper case, so the query is upper-cased;
LIKE wildcards in the input are escaped so `%` and `_` match themselves. At most 50 rows.
SSNs leave this module masked as `XXX-XX-1234`; the full number is never rendered anywhere.

`update_demographics` is the one write: contact details (and optionally the name parts) in a
write transaction that locks the row first, stamping UPD_TS, so a concurrent edit is serialized
and the later one wins whole (never a mix of two edits' fields).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine

from demo.legacy.db import Row, execute, fetch_all, fetch_one, for_update, write_transaction
from demo.legacy.legacy_time import to_legacy_ts

MIN_SEARCH_LENGTH = 2
MAX_RESULTS = 50
_MRN = re.compile(r"M[0-9]{7}")
_SUMMARY_COLUMNS = "PAT_ID, MRN, LAST_NM, FIRST_NM, DOB, SEX_CD"
_ORDER = f" ORDER BY LAST_NM, FIRST_NM, PAT_ID LIMIT {MAX_RESULTS}"


class SearchTooShortError(ValueError):
    pass


class PatientNotFoundError(LookupError):
    pass


@dataclass(frozen=True)
class Demographics:
    """Validated contact details; `phone` "" clears it (NULL). None name parts stay unchanged."""

    phone: str
    addr1: str
    city: str
    st: str
    zip: str
    last_nm: str | None = None
    first_nm: str | None = None


def _like_prefix(text: str) -> str:
    # '!' as the escape character: a backslash would need doubling on MariaDB but not elsewhere.
    escaped = text.replace("!", "!!").replace("%", "!%").replace("_", "!_")
    return escaped + "%"


def search(conn: Connection, q: str) -> list[Row]:
    """Up to 50 patient summaries, ordered by LAST_NM, FIRST_NM, PAT_ID."""
    term = q.strip().upper()
    if len(term) < MIN_SEARCH_LENGTH:
        raise SearchTooShortError(q)
    if _MRN.fullmatch(term):
        sql = f"SELECT {_SUMMARY_COLUMNS} FROM PATIENT_MASTER WHERE MRN = :mrn{_ORDER}"
        return fetch_all(conn, sql, {"mrn": term})
    last, _, first = (part.strip() for part in term.partition(","))
    sql = f"SELECT {_SUMMARY_COLUMNS} FROM PATIENT_MASTER WHERE LAST_NM LIKE :last ESCAPE '!'"
    params = {"last": _like_prefix(last)}
    if first:
        sql += " AND FIRST_NM LIKE :first ESCAPE '!'"
        params["first"] = _like_prefix(first)
    return fetch_all(conn, sql + _ORDER, params)


def summary(row: Row) -> dict[str, Any]:
    """A search hit in contract order."""
    return {name: row[name] for name in ("PAT_ID", "MRN", "LAST_NM", "FIRST_NM", "DOB", "SEX_CD")}


def get(conn: Connection, pat_id: int) -> dict[str, Any] | None:
    """Demographics in contract order, SSN masked."""
    row = fetch_one(
        conn,
        "SELECT PAT_ID, MRN, LAST_NM, FIRST_NM, DOB, SEX_CD, SSN, PHONE, ADDR1, CITY, ST, ZIP,"
        " UPD_TS FROM PATIENT_MASTER WHERE PAT_ID = :pat_id",
        {"pat_id": pat_id},
    )
    if row is None:
        return None
    return {**row, "SSN": mask_ssn(row["SSN"])}


def mask_ssn(ssn: str | None) -> str | None:
    """`XXX-XX-` and the last four digits; None stays None, junk is masked entirely."""
    if ssn is None:
        return None
    digits = re.sub(r"[^0-9]", "", ssn)
    return f"XXX-XX-{digits[-4:]}" if len(digits) >= 4 else "XXX-XX-XXXX"


def update_demographics(engine: Engine, now: datetime, pat_id: int, change: Demographics) -> None:
    """Write the contact details (and name parts given) and stamp UPD_TS, in one transaction."""
    with write_transaction(engine) as conn:
        current = fetch_one(
            conn,
            "SELECT PAT_ID, LAST_NM, FIRST_NM FROM PATIENT_MASTER"
            f" WHERE PAT_ID = :pat_id{for_update(conn)}",
            {"pat_id": pat_id},
        )
        if current is None:
            raise PatientNotFoundError
        execute(
            conn,
            "UPDATE PATIENT_MASTER SET LAST_NM = :last_nm, FIRST_NM = :first_nm, PHONE = :phone,"
            " ADDR1 = :addr1, CITY = :city, ST = :st, ZIP = :zip, UPD_TS = :upd_ts"
            " WHERE PAT_ID = :pat_id",
            {
                "pat_id": pat_id,
                "last_nm": change.last_nm or current["LAST_NM"],
                "first_nm": change.first_nm or current["FIRST_NM"],
                "phone": change.phone or None,
                "addr1": change.addr1,
                "city": change.city,
                "st": change.st,
                "zip": change.zip,
                "upd_ts": to_legacy_ts(now),
            },
        )
