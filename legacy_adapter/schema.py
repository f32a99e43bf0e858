"""SQLAlchemy 2 models of the legacy hospital schema, as the legacy app created it.

Ficus does not own these tables: it reads and writes them, but never creates, alters or drops
them (legacy_adapter/alembic/env.py keeps autogenerate away from them). The names are declared
with `quote=False` because the legacy app wrote its SQL with bare UPPER_CASE identifiers:
PostgreSQL folds those to lower case, MariaDB keeps them as written, and SQLite ignores case.
Rendering them bare here resolves to the very same tables on all three.
"""

from __future__ import annotations

from sqlalchemy import CHAR, Index, Integer, MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

LEGACY_TABLE_NAMES = frozenset(
    {
        "PATIENT_MASTER",
        "PROVIDER",
        "APPT_SCHED",
        "BILL_CHARGE",
        "APP_USER",
        "USER_SESSION",
        "LEGACY_SEQ",
    }
)


def is_legacy_table(name: str) -> bool:
    """True for a table the legacy app owns, whatever case the database reports it in."""
    return name.upper() in LEGACY_TABLE_NAMES


class LegacyBase(DeclarativeBase):
    metadata = MetaData()


class PatientMaster(LegacyBase):
    __tablename__ = "PATIENT_MASTER"
    __table_args__ = {"quote": False}

    PAT_ID: Mapped[int] = mapped_column("PAT_ID", Integer, primary_key=True, quote=False)
    MRN: Mapped[str] = mapped_column("MRN", String(10), unique=True, quote=False)
    LAST_NM: Mapped[str] = mapped_column("LAST_NM", String(35), quote=False)
    FIRST_NM: Mapped[str] = mapped_column("FIRST_NM", String(25), quote=False)
    DOB: Mapped[str] = mapped_column("DOB", CHAR(8), quote=False)
    SEX_CD: Mapped[str] = mapped_column("SEX_CD", CHAR(1), quote=False)
    SSN: Mapped[str | None] = mapped_column("SSN", CHAR(11), quote=False)
    PHONE: Mapped[str | None] = mapped_column("PHONE", String(14), quote=False)
    ADDR1: Mapped[str | None] = mapped_column("ADDR1", String(60), quote=False)
    CITY: Mapped[str | None] = mapped_column("CITY", String(30), quote=False)
    ST: Mapped[str | None] = mapped_column("ST", CHAR(2), quote=False)
    ZIP: Mapped[str | None] = mapped_column("ZIP", CHAR(5), quote=False)
    UPD_TS: Mapped[str] = mapped_column("UPD_TS", CHAR(14), quote=False)


class Provider(LegacyBase):
    __tablename__ = "PROVIDER"
    __table_args__ = {"quote": False}

    PROV_ID: Mapped[int] = mapped_column("PROV_ID", Integer, primary_key=True, quote=False)
    NAME: Mapped[str] = mapped_column("NAME", String(40), quote=False)
    DEPT_CD: Mapped[str] = mapped_column("DEPT_CD", CHAR(4), quote=False)


class ApptSched(LegacyBase):
    __tablename__ = "APPT_SCHED"
    __table_args__ = (
        Index("IX_APPT_PROV_DT", "PROV_ID", "APPT_DT", quote=False),
        Index("IX_APPT_PAT", "PAT_ID", quote=False),
        {"quote": False},
    )

    APPT_ID: Mapped[int] = mapped_column("APPT_ID", Integer, primary_key=True, quote=False)
    PAT_ID: Mapped[int] = mapped_column("PAT_ID", Integer, quote=False)
    PROV_ID: Mapped[int] = mapped_column("PROV_ID", Integer, quote=False)
    APPT_DT: Mapped[str] = mapped_column("APPT_DT", CHAR(8), quote=False)
    APPT_TM: Mapped[str] = mapped_column("APPT_TM", CHAR(4), quote=False)
    DUR_MIN: Mapped[int] = mapped_column("DUR_MIN", Integer, quote=False)
    STATUS_CD: Mapped[str] = mapped_column("STATUS_CD", CHAR(1), quote=False)
    REASON_TXT: Mapped[str | None] = mapped_column("REASON_TXT", String(80), quote=False)
    UPD_TS: Mapped[str] = mapped_column("UPD_TS", CHAR(14), quote=False)


class BillCharge(LegacyBase):
    __tablename__ = "BILL_CHARGE"
    __table_args__ = (Index("IX_CHG_APPT", "APPT_ID", quote=False), {"quote": False})

    CHG_ID: Mapped[int] = mapped_column("CHG_ID", Integer, primary_key=True, quote=False)
    APPT_ID: Mapped[int] = mapped_column("APPT_ID", Integer, quote=False)
    PAT_ID: Mapped[int] = mapped_column("PAT_ID", Integer, quote=False)
    CPT_CD: Mapped[str] = mapped_column("CPT_CD", CHAR(5), quote=False)
    AMT_CENTS: Mapped[int] = mapped_column("AMT_CENTS", Integer, quote=False)
    POSTED_DT: Mapped[str] = mapped_column("POSTED_DT", CHAR(8), quote=False)


class AppUser(LegacyBase):
    __tablename__ = "APP_USER"
    __table_args__ = {"quote": False}

    USER_ID: Mapped[int] = mapped_column("USER_ID", Integer, primary_key=True, quote=False)
    LOGIN_NM: Mapped[str] = mapped_column("LOGIN_NM", String(30), unique=True, quote=False)
    PWD_HASH: Mapped[str] = mapped_column("PWD_HASH", String(128), quote=False)
    FULL_NM: Mapped[str] = mapped_column("FULL_NM", String(40), quote=False)
    ROLE_CD: Mapped[str] = mapped_column("ROLE_CD", String(5), quote=False)
    PROV_ID: Mapped[int | None] = mapped_column("PROV_ID", Integer, quote=False)
    ACTIVE_FLG: Mapped[str] = mapped_column("ACTIVE_FLG", CHAR(1), quote=False)


class UserSession(LegacyBase):
    __tablename__ = "USER_SESSION"
    __table_args__ = {"quote": False}

    SESS_ID: Mapped[str] = mapped_column("SESS_ID", String(64), primary_key=True, quote=False)
    USER_ID: Mapped[int] = mapped_column("USER_ID", Integer, quote=False)
    ROLE_CD: Mapped[str] = mapped_column("ROLE_CD", String(5), quote=False)
    EXPIRES_TS: Mapped[str] = mapped_column("EXPIRES_TS", CHAR(14), quote=False)


class LegacySeq(LegacyBase):
    __tablename__ = "LEGACY_SEQ"
    __table_args__ = {"quote": False}

    SEQ_NM: Mapped[str] = mapped_column("SEQ_NM", String(20), primary_key=True, quote=False)
    NEXT_VAL: Mapped[int] = mapped_column("NEXT_VAL", Integer, quote=False)
