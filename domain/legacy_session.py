"""How the legacy app knows its user: where the credential is, and who is asked about it (pure).

A plan's `legacy_session:` section (domain.plan_legacy_session) declares it once for the one
legacy app; without one, it is the demo's: the `SESSID` cookie, looked up in the legacy
`USER_SESSION` table. The proxy reads the credential once per request (proxy.sanitizer) into a
`Credential` whose `key` is what the cohorts, the read-your-writes pins and the session cache
all use, and resolves it to a user through the `resolve` side:

- `cookie` (named, default `SESSID`) or `header` (named): the value is the session token; the
  session table or a who-am-I call resolves it;
- `trytond_session`: `Authorization: Session base64(login:user_id:session)`, as trytond's web
  client sends it (trytond/protocols/wrappers.py); a who-am-I call resolves it;
- `basic`: HTTP Basic (proteus, XML-RPC clients); the key is a keyed hash of the credentials,
  never the password, and a who-am-I call with those credentials resolves it.

A who-am-I call forwards only the credential's own header to a legacy URL and maps fields of
its JSON answer (dotted paths: `result.login`) to the user id, login and role.

Pure: the standard library only.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final


class CredentialKind(StrEnum):
    COOKIE = "cookie"
    HEADER = "header"
    TRYTOND_SESSION = "trytond_session"
    BASIC = "basic"


class ResolveKind(StrEnum):
    SESSION_TABLE = "session_table"
    WHOAMI = "whoami"


DEFAULT_COOKIE: Final = "SESSID"
# Kinds whose value is a session token the legacy session table can be asked about.
TABLE_KINDS: Final = frozenset({CredentialKind.COOKIE, CredentialKind.HEADER})
# Kinds that read a header or cookie by a name the plan gives.
NAMED_KINDS: Final = TABLE_KINDS
DEFAULT_WHOAMI_TIMEOUT: Final = 2.0
MAX_WHOAMI_TIMEOUT: Final = 10.0
DEFAULT_WHOAMI_IN_FLIGHT: Final = 32
MAX_WHOAMI_IN_FLIGHT: Final = 1024
MAX_TOKEN_CHARS: Final = 4096


@dataclass(frozen=True, slots=True)
class WhoAmI:
    """The legacy URL that says who holds a credential, and where its answer says so."""

    path: str
    method: str = "GET"
    body: str = ""  # sent as-is, as JSON (a JSON-RPC call); empty: no body
    user_id: str = "user_id"
    login: str = "login"
    role: str = "role"
    timeout_seconds: float = DEFAULT_WHOAMI_TIMEOUT
    max_in_flight: int = DEFAULT_WHOAMI_IN_FLIGHT


@dataclass(frozen=True, slots=True)
class LegacySessionSettings:
    credential: CredentialKind = CredentialKind.COOKIE
    name: str = DEFAULT_COOKIE
    resolve: ResolveKind = ResolveKind.SESSION_TABLE
    whoami: WhoAmI | None = None


@dataclass(frozen=True, slots=True)
class Credential:
    """One request's credential. `key`: the stable opaque session key (cohorts, pins, cache);
    `token`: what the session table is asked; `forward`: the header a who-am-I call sends.
    Never shown: the repr holds no value, so no log line can carry one by accident."""

    key: str = field(repr=False)
    token: str = field(repr=False)
    forward: tuple[bytes, bytes] = field(repr=False)


@dataclass(frozen=True, slots=True)
class Resolved:
    """Who the legacy app says holds a credential; `expires_at` (epoch seconds) if it says."""

    user_id: int
    login: str
    role: str
    expires_at: float | None = None


def trytond_session(authorization: str) -> tuple[str, int, str] | None:
    """(login, user id, session) from `Session base64(login:user_id:session)`, or None, read
    as trytond reads it: exactly three parts, an integer user id."""
    scheme, _, info = authorization.strip().partition(" ")
    if scheme.lower() != "session":
        return None
    try:
        login, user_id, session = base64.b64decode(info.strip(), validate=True).split(b":")
        return login.decode("utf-8"), int(user_id), session.decode("ascii")
    except (ValueError, binascii.Error):
        return None


def basic_credentials(authorization: str) -> str | None:
    """The decoded `user:password` of an HTTP Basic header, or None (RFC 7617)."""
    scheme, _, info = authorization.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(info.strip(), validate=True).decode("utf-8")
    except (ValueError, binascii.Error):
        return None
    return decoded if ":" in decoded else None


def keyed_session_key(secret: bytes, kind: CredentialKind, material: str) -> str:
    """A stable opaque key for credentials that must never be held (a password): the same on
    every worker and restart that shares the secret, useless to anyone without it."""
    message = f"{kind.value}\0{material}".encode("utf-8", "surrogateescape")
    return hmac.new(secret, b"ficus-legacy-session\0" + message, hashlib.sha256).hexdigest()


def map_answer(whoami: WhoAmI, answer: object) -> Resolved | None:
    """The user a who-am-I JSON answer names, or None if a field is missing or mistyped (an
    answer Ficus cannot read proves no session)."""
    user_id = _at(answer, whoami.user_id)
    login = _at(answer, whoami.login)
    role = _at(answer, whoami.role)
    if isinstance(user_id, bool) or not isinstance(user_id, int | str):
        return None
    try:
        number = int(user_id)
    except ValueError:
        return None
    if not isinstance(login, str) or not login or not isinstance(role, str) or not role:
        return None
    return Resolved(number, login, role)


def _at(value: object, path: str) -> object:
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value
