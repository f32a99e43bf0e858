"""Logins and sessions: an opaque `SESSID` cookie naming a row in USER_SESSION.

A session lasts 8 hours from login (no sliding renewal) and counts only while its user is still
active. The proxy's identity bridge reads the same table with the same rule, so whoever the legacy
app admits, the bridge admits, and no one else.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from sqlalchemy import Engine

from demo.legacy.db import execute, fetch_one, write_transaction
from demo.legacy.legacy_time import to_legacy_ts
from demo.legacy.passwords import hash_password, verify_password

COOKIE_NAME = "SESSID"
SESSION_LIFETIME = timedelta(hours=8)
MAX_SESS_ID_LENGTH = 64


@dataclass(frozen=True)
class Session:
    sess_id: str
    user_id: int
    login_nm: str
    full_nm: str
    role_cd: str
    prov_id: int | None
    expires_ts: str


def login(engine: Engine, login_nm: str, password: str, now: datetime) -> str | None:
    """A new session id for valid credentials of an active user, else None."""
    login_nm = login_nm.strip().lower()  # logins are stored lower case; MariaDB would ignore case
    with engine.connect() as conn:
        user = fetch_one(
            conn,
            "SELECT USER_ID, PWD_HASH, ROLE_CD, ACTIVE_FLG FROM APP_USER WHERE LOGIN_NM = :login",
            {"login": login_nm},
        )
    # The slow hash runs outside any write transaction, so SQLite's write lock is not held.
    if user is None:
        verify_password(password, _decoy_hash())
        return None
    if not verify_password(password, user["PWD_HASH"]) or user["ACTIVE_FLG"] != "Y":
        return None
    sess_id = secrets.token_hex(32)
    now_ts = to_legacy_ts(now)
    with write_transaction(engine) as conn:
        # Housekeeping the legacy way: expired sessions are swept whenever someone logs in.
        execute(conn, "DELETE FROM USER_SESSION WHERE EXPIRES_TS <= :now", {"now": now_ts})
        execute(
            conn,
            "INSERT INTO USER_SESSION (SESS_ID, USER_ID, ROLE_CD, EXPIRES_TS)"
            " VALUES (:sess_id, :user_id, :role_cd, :expires_ts)",
            {
                "sess_id": sess_id,
                "user_id": user["USER_ID"],
                "role_cd": user["ROLE_CD"],
                "expires_ts": to_legacy_ts(now + SESSION_LIFETIME),
            },
        )
    return sess_id


@lru_cache(maxsize=1)
def _decoy_hash() -> str:
    """Checked when the login name is unknown, so a wrong name costs as long as a wrong password."""
    return hash_password("decoy", b"\x00" * 16)


def lookup(engine: Engine, sess_id: str | None, now: datetime) -> Session | None:
    """The live session with this id, or None if it is missing, unknown, expired or inactive."""
    if not sess_id or len(sess_id) > MAX_SESS_ID_LENGTH:
        return None
    with engine.connect() as conn:
        row = fetch_one(
            conn,
            "SELECT S.SESS_ID, S.USER_ID, S.ROLE_CD, S.EXPIRES_TS, U.LOGIN_NM, U.FULL_NM,"
            " U.PROV_ID FROM USER_SESSION S JOIN APP_USER U ON U.USER_ID = S.USER_ID"
            " WHERE S.SESS_ID = :sess_id AND S.EXPIRES_TS > :now AND U.ACTIVE_FLG = 'Y'",
            {"sess_id": sess_id, "now": to_legacy_ts(now)},
        )
    if row is None:
        return None
    return Session(
        sess_id=row["SESS_ID"],
        user_id=row["USER_ID"],
        login_nm=row["LOGIN_NM"],
        full_nm=row["FULL_NM"],
        role_cd=row["ROLE_CD"],
        prov_id=row["PROV_ID"],
        expires_ts=row["EXPIRES_TS"],
    )


def logout(engine: Engine, sess_id: str | None) -> None:
    if not sess_id or len(sess_id) > MAX_SESS_ID_LENGTH:
        return
    with write_transaction(engine) as conn:
        execute(conn, "DELETE FROM USER_SESSION WHERE SESS_ID = :sess_id", {"sess_id": sess_id})
