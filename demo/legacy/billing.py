"""The billing report: appointments LEFT JOIN their charges over a date range.

LEFT JOIN because an appointment without charges is exactly what a billing clerk hunts for: it
shows as one line with no CPT code and 0.00. Cancelled appointments are left out, they are never
billed. Totals come from a separate aggregate query, so they cover the whole range even when the
page shows only the first `MAX_LINES` lines.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection

from demo.legacy.db import Row, fetch_all, fetch_one

MAX_LINES = 2_000

_CHARGES = " FROM APPT_SCHED A LEFT JOIN BILL_CHARGE C ON C.APPT_ID = A.APPT_ID"
_IN_RANGE = " WHERE A.APPT_DT >= :from_dt AND A.APPT_DT <= :to_dt AND A.STATUS_CD <> 'C'"


@dataclass(frozen=True)
class BillingReport:
    lines: list[Row]
    appointments: int
    line_count: int
    charge_count: int
    total_cents: int

    @property
    def truncated(self) -> bool:
        return self.line_count > len(self.lines)


def report(conn: Connection, from_dt: str, to_dt: str) -> BillingReport:
    params = {"from_dt": from_dt, "to_dt": to_dt}
    lines = fetch_all(
        conn,
        "SELECT A.APPT_ID, A.APPT_DT, A.APPT_TM, A.STATUS_CD, A.PAT_ID, P.MRN, P.LAST_NM,"
        " P.FIRST_NM, R.NAME AS PROV_NM, C.CHG_ID, C.CPT_CD, C.POSTED_DT,"
        f" COALESCE(C.AMT_CENTS, 0) AS AMT_CENTS{_CHARGES}"
        " LEFT JOIN PATIENT_MASTER P ON P.PAT_ID = A.PAT_ID"
        f" LEFT JOIN PROVIDER R ON R.PROV_ID = A.PROV_ID{_IN_RANGE}"
        f" ORDER BY A.APPT_DT, A.APPT_TM, A.APPT_ID, C.CHG_ID LIMIT {MAX_LINES}",
        params,
    )
    totals = fetch_one(
        conn,
        "SELECT COUNT(DISTINCT A.APPT_ID) AS APPT_CNT, COUNT(*) AS LINE_CNT,"
        " COUNT(C.CHG_ID) AS CHG_CNT,"
        f" COALESCE(SUM(C.AMT_CENTS), 0) AS TOTAL_CENTS{_CHARGES}{_IN_RANGE}",
        params,
    )
    assert totals is not None  # an aggregate always returns one row
    # int(): MariaDB returns SUM() as a Decimal. (Aliases avoid LINES, reserved on MariaDB.)
    return BillingReport(
        lines=lines,
        appointments=int(totals["APPT_CNT"]),
        line_count=int(totals["LINE_CNT"]),
        charge_count=int(totals["CHG_CNT"]),
        total_cents=int(totals["TOTAL_CENTS"]),
    )
