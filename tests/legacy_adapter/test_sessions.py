"""The identity bridge's session lookup admits exactly the sessions the legacy app would."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, insert

from legacy_adapter.schema import AppUser, UserSession
from legacy_adapter.sessions import LegacySession, LegacySessionStore
from tests.legacy_adapter.legacy_db import create_legacy_schema

NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
USERS = [
    # (USER_ID, LOGIN_NM, ROLE_CD, ACTIVE_FLG)
    (1, "clinician", "CLIN", "Y"),
    (2, "operator", "OPER", "Y"),
    (3, "auditor", "AUDIT", "Y"),
    (4, "former", "CLIN", "N"),
]
SESSIONS = [
    # (SESS_ID, USER_ID, ROLE_CD, EXPIRES_TS)
    ("s-clinician", 1, "CLIN", "20261121170000"),
    ("s-operator", 2, "OPER", "20261121170000"),
    ("s-expired", 1, "CLIN", "20261121085959"),
    ("s-ends-now", 3, "AUDIT", "20261121090000"),
    ("s-inactive", 4, "CLIN", "20261121170000"),
    ("s-corrupt", 1, "CLIN", "2026112117XX00"),
]


@pytest.fixture
def store(legacy_database_url):
    engine = create_engine(legacy_database_url)
    create_legacy_schema(engine)
    with engine.begin() as conn:
        conn.execute(
            insert(AppUser.__table__),  # type: ignore[arg-type]
            [
                {"USER_ID": uid, "LOGIN_NM": login, "PWD_HASH": "x", "FULL_NM": login.upper(),
                 "ROLE_CD": role, "PROV_ID": None, "ACTIVE_FLG": active}
                for uid, login, role, active in USERS
            ],
        )  # fmt: skip
        conn.execute(
            insert(UserSession.__table__),  # type: ignore[arg-type]
            [
                {"SESS_ID": sid, "USER_ID": uid, "ROLE_CD": role, "EXPIRES_TS": exp}
                for sid, uid, role, exp in SESSIONS
            ],
        )
    yield LegacySessionStore(engine, clock=lambda: NOW)
    engine.dispose()


def test_it_finds_the_clinicians_live_session(store):
    assert store.lookup("s-clinician") == LegacySession(
        user_id=1, login="clinician", role="CLIN", expires_at=datetime(2026, 11, 21, 17, tzinfo=UTC)
    )


def test_it_finds_the_operator_with_the_role_of_the_session(store):
    found = store.lookup("s-operator")

    assert found is not None
    assert (found.login, found.role) == ("operator", "OPER")


@pytest.mark.parametrize(
    "session_id",
    [
        "s-expired",  # expired a second ago
        "s-ends-now",  # the auditor's session ends exactly now: no longer valid
        "s-inactive",  # the user was deactivated after logging in
        "s-corrupt",  # an unreadable expiry proves nothing
        "s-unknown",  # the outsider's made-up cookie
        "",
        "s" * 65,  # longer than SESS_ID can be
    ],
)
def test_it_refuses_sessions_the_legacy_app_would_refuse(store, session_id):
    assert store.lookup(session_id) is None
