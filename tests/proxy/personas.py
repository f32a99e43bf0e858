"""Legacy sessions for the test personas, in a real legacy database.

clinician (CLIN), operator (OPER) and auditor (AUDIT) each get a live session; the outsider has
none, a forged one, or one that has expired. Rows are inserted with SQLAlchemy Core into the
legacy schema exactly as the legacy app stores them.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import create_engine, insert

from legacy_adapter.schema import AppUser, LegacyBase, UserSession

ROLES = {"clinician": "CLIN", "operator": "OPER", "auditor": "AUDIT"}
USER_IDS = {"clinician": 11, "operator": 12, "auditor": 13, "expired": 14}


def _ts(moment: datetime) -> str:
    return moment.strftime("%Y%m%d%H%M%S")


def seed_sessions(url: str) -> dict[str, str]:
    """Create the legacy schema at url and a session per persona; returns persona -> SESSID.

    Also returns "expired": a real session row whose EXPIRES_TS is in the past.
    """
    engine = create_engine(url)
    now = datetime.now(UTC)
    sessions = {name: secrets.token_hex(16) for name in (*ROLES, "expired")}
    try:
        LegacyBase.metadata.create_all(engine)
        with engine.begin() as conn:
            for name, user_id in USER_IDS.items():
                conn.execute(
                    insert(AppUser).values(
                        USER_ID=user_id,
                        LOGIN_NM=name,
                        PWD_HASH="x",
                        FULL_NM=name.upper(),
                        ROLE_CD=ROLES.get(name, "CLIN"),
                        PROV_ID=1 if name == "clinician" else None,
                        ACTIVE_FLG="Y",
                    )
                )
                expires = (
                    now - timedelta(hours=1) if name == "expired" else now + timedelta(hours=8)
                )
                conn.execute(
                    insert(UserSession).values(
                        SESS_ID=sessions[name],
                        USER_ID=user_id,
                        ROLE_CD=ROLES.get(name, "CLIN"),
                        EXPIRES_TS=_ts(expires),
                    )
                )
    finally:
        engine.dispose()
    return sessions


def add_session(url: str, persona: str) -> str:
    """Another live session for a seeded persona (a second browser): returns its SESSID.

    For tests that change per-session state in a shared proxy (read-your-writes pins), so that
    they do not change it for the persona's main session.
    """
    engine = create_engine(url)
    session_id = secrets.token_hex(16)
    try:
        with engine.begin() as conn:
            conn.execute(
                insert(UserSession).values(
                    SESS_ID=session_id,
                    USER_ID=USER_IDS[persona],
                    ROLE_CD=ROLES[persona],
                    EXPIRES_TS=_ts(datetime.now(UTC) + timedelta(hours=8)),
                )
            )
    finally:
        engine.dispose()
    return session_id
