"""Read-only lookup of legacy sessions, for the proxy's identity bridge.

The legacy app stores sessions in USER_SESSION (SESS_ID, USER_ID, ROLE_CD, EXPIRES_TS as UTC
YYYYMMDDHHMMSS). A session counts only if it has not expired and its user is still active, the
same rule the legacy app applies, so the bridge never admits someone the legacy app would refuse.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, select

from domain.records import MappingError, UtcTimestampCodec
from legacy_adapter.schema import AppUser, UserSession

_EXPIRES_TS = UtcTimestampCodec()


@dataclass(frozen=True, slots=True)
class LegacySession:
    user_id: int
    login: str
    role: str
    expires_at: datetime


def _utc_now() -> datetime:
    return datetime.now(UTC)


class LegacySessionStore:
    def __init__(self, engine: Engine, *, clock: Callable[[], datetime] = _utc_now) -> None:
        self._engine = engine
        self._clock = clock

    def lookup(self, session_id: str) -> LegacySession | None:
        """The live session with this id, or None if it is unknown, expired or its user inactive."""
        if not session_id or len(session_id) > 64:
            return None
        query = (
            select(
                UserSession.USER_ID, UserSession.ROLE_CD, UserSession.EXPIRES_TS, AppUser.LOGIN_NM
            )
            .join(AppUser, AppUser.USER_ID == UserSession.USER_ID)
            .where(UserSession.SESS_ID == session_id, AppUser.ACTIVE_FLG == "Y")
        )
        with self._engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            return None
        try:
            expires_at = _EXPIRES_TS.decode(row.EXPIRES_TS)
        except MappingError:
            return None  # a corrupt timestamp is no proof of a live session
        if expires_at <= self._clock():
            return None
        return LegacySession(
            user_id=row.USER_ID, login=row.LOGIN_NM, role=row.ROLE_CD, expires_at=expires_at
        )
