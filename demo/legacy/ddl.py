"""The legacy schema as the legacy app created it: hand-written, portable CREATE TABLE statements.

The same text runs on SQLite, PostgreSQL and MariaDB: bare UPPER_CASE names, CHAR/VARCHAR/INTEGER
only, no foreign keys (the legacy app never declared any) and no autoincrement (ids come from
LEGACY_SEQ). Ficus adds its own `ficus_*` tables and triggers later; `drop_schema` removes only
the seven tables below, so `init-db --force` leaves Ficus's bookkeeping tables in place.
"""

from __future__ import annotations

from sqlalchemy import Connection, inspect

from demo.legacy.db import execute, fetch_one

LEGACY_TABLES: tuple[str, ...] = (
    "PATIENT_MASTER",
    "PROVIDER",
    "APPT_SCHED",
    "BILL_CHARGE",
    "APP_USER",
    "USER_SESSION",
    "LEGACY_SEQ",
)

CREATE_TABLES: tuple[str, ...] = (
    """CREATE TABLE IF NOT EXISTS PATIENT_MASTER (
        PAT_ID INTEGER NOT NULL PRIMARY KEY,
        MRN VARCHAR(10) NOT NULL UNIQUE,
        LAST_NM VARCHAR(35) NOT NULL,
        FIRST_NM VARCHAR(25) NOT NULL,
        DOB CHAR(8) NOT NULL,
        SEX_CD CHAR(1) NOT NULL,
        SSN CHAR(11),
        PHONE VARCHAR(14),
        ADDR1 VARCHAR(60),
        CITY VARCHAR(30),
        ST CHAR(2),
        ZIP CHAR(5),
        UPD_TS CHAR(14) NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS PROVIDER (
        PROV_ID INTEGER NOT NULL PRIMARY KEY,
        NAME VARCHAR(40) NOT NULL,
        DEPT_CD CHAR(4) NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS APPT_SCHED (
        APPT_ID INTEGER NOT NULL PRIMARY KEY,
        PAT_ID INTEGER NOT NULL,
        PROV_ID INTEGER NOT NULL,
        APPT_DT CHAR(8) NOT NULL,
        APPT_TM CHAR(4) NOT NULL,
        DUR_MIN INTEGER NOT NULL,
        STATUS_CD CHAR(1) NOT NULL,
        REASON_TXT VARCHAR(80),
        UPD_TS CHAR(14) NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS BILL_CHARGE (
        CHG_ID INTEGER NOT NULL PRIMARY KEY,
        APPT_ID INTEGER NOT NULL,
        PAT_ID INTEGER NOT NULL,
        CPT_CD CHAR(5) NOT NULL,
        AMT_CENTS INTEGER NOT NULL,
        POSTED_DT CHAR(8) NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS APP_USER (
        USER_ID INTEGER NOT NULL PRIMARY KEY,
        LOGIN_NM VARCHAR(30) NOT NULL UNIQUE,
        PWD_HASH VARCHAR(128) NOT NULL,
        FULL_NM VARCHAR(40) NOT NULL,
        ROLE_CD VARCHAR(5) NOT NULL,
        PROV_ID INTEGER,
        ACTIVE_FLG CHAR(1) NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS USER_SESSION (
        SESS_ID VARCHAR(64) NOT NULL PRIMARY KEY,
        USER_ID INTEGER NOT NULL,
        ROLE_CD VARCHAR(5) NOT NULL,
        EXPIRES_TS CHAR(14) NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS LEGACY_SEQ (
        SEQ_NM VARCHAR(20) NOT NULL PRIMARY KEY,
        NEXT_VAL INTEGER NOT NULL
    )""",
)

CREATE_INDEXES: tuple[str, ...] = (
    "CREATE INDEX IF NOT EXISTS IX_APPT_PROV_DT ON APPT_SCHED (PROV_ID, APPT_DT)",
    "CREATE INDEX IF NOT EXISTS IX_APPT_PAT ON APPT_SCHED (PAT_ID)",
    "CREATE INDEX IF NOT EXISTS IX_CHG_APPT ON BILL_CHARGE (APPT_ID)",
)


def existing_legacy_tables(conn: Connection) -> list[str]:
    """The legacy tables present, by their UPPER-CASE names (PostgreSQL reports lower case)."""
    present = {name.upper() for name in inspect(conn).get_table_names()}
    return [table for table in LEGACY_TABLES if table in present]


def has_schema(conn: Connection) -> bool:
    return len(existing_legacy_tables(conn)) == len(LEGACY_TABLES)


def tables_with_data(conn: Connection) -> list[str]:
    """The legacy tables that hold at least one row."""
    return [
        table
        for table in existing_legacy_tables(conn)
        if fetch_one(conn, f"SELECT 1 AS X FROM {table} LIMIT 1") is not None
    ]


def create_schema(conn: Connection) -> None:
    for statement in (*CREATE_TABLES, *CREATE_INDEXES):
        execute(conn, statement)


def drop_schema(conn: Connection) -> None:
    """Drop the seven legacy tables (and with them their indexes and any triggers on them)."""
    for table in LEGACY_TABLES:
        execute(conn, f"DROP TABLE IF EXISTS {table}")
