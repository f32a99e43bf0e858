"""A tiny real legacy app on loopback that knows its users the ways real ones do.

It checks HTTP Basic (proteus, XML-RPC clients), trytond's `Authorization: Session
base64(login:user_id:session)`, a `LEGACY_SID` cookie and an `X-Legacy-Session` header, and
says who holds them:

- `GET /whoami`: `{"user": {"id", "login", "role"}}`, or 401 `{"ERR": "NOT LOGGED IN"}`;
- `POST /hospital/` (trytond-style JSON-RPC, any method): `{"id": 0, "result": {...}}`, or 401;
- anything else: 200 `{"legacy": true}` for a known user, else the legacy 401.

`revoke(login)` logs a user out everywhere at once (as a password change or deactivation would);
`fail_whoami` makes who-am-I answer 500 and `hang_whoami` never answer. Every request's headers
are kept (`received`) so a test can see what the proxy forwarded. Synthetic users only.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.support.ports import LOOPBACK

NOT_LOGGED_IN = {"ERR": "NOT LOGGED IN", "CODE": 101}


@dataclass
class User:
    user_id: int
    login: str
    password: str
    role: str
    session: str = field(default_factory=lambda: secrets.token_hex(16))


@dataclass
class LoginLegacy:
    port: int = 0
    users: dict[str, User] = field(default_factory=dict)
    received: list[dict[str, str]] = field(default_factory=list)
    fail_whoami: bool = False
    hang_whoami: threading.Event | None = None
    # Set when a who-am-I call arrives (before any hang).
    asked: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def add(self, login: str, role: str = "CLIN") -> User:
        user = User(100 + len(self.users), login, secrets.token_urlsafe(12), role)
        with self.lock:
            self.users[login] = user
        return user

    def revoke(self, login: str) -> None:
        with self.lock:
            del self.users[login]

    def holder(self, headers: dict[str, str]) -> User | None:
        """Whom this request's credential names, by any of the four ways."""
        with self.lock:
            users = list(self.users.values())
        authorization = headers.get("authorization", "")
        scheme, _, info = authorization.partition(" ")
        try:
            decoded = base64.b64decode(info).decode() if info else ""
        except ValueError:
            decoded = ""
        cookie = headers.get("cookie", "")
        sid = next(
            (c.split("=", 1)[1] for c in cookie.split("; ") if c.startswith("LEGACY_SID=")), None
        )
        for user in users:
            if scheme == "Basic" and decoded == f"{user.login}:{user.password}":
                return user
            if scheme == "Session" and decoded == f"{user.login}:{user.user_id}:{user.session}":
                return user
            if sid == user.session or headers.get("x-legacy-session") == user.session:
                return user
        return None


def basic(user: User, password: str | None = None) -> str:
    raw = f"{user.login}:{user.password if password is None else password}".encode()
    return "Basic " + base64.b64encode(raw).decode()


def trytond_session(user: User, user_id: int | None = None) -> str:
    uid = user.user_id if user_id is None else user_id
    return "Session " + base64.b64encode(f"{user.login}:{uid}:{user.session}".encode()).decode()


def _handler(legacy: LoginLegacy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            headers = {k.lower(): v for k, v in self.headers.items()}
            with legacy.lock:
                legacy.received.append({"path": self.path, **headers})
            whoami = self.path in ("/whoami", "/hospital/")
            if whoami:
                legacy.asked.set()
            if whoami and legacy.hang_whoami is not None:
                legacy.hang_whoami.wait(30)
            if whoami and legacy.fail_whoami:
                self._send(500, {"ERR": "INTERNAL"})
                return
            user = legacy.holder(headers)
            if user is None:
                self._send(401, NOT_LOGGED_IN)
                return
            who = {"id": user.user_id, "login": user.login, "role": user.role}
            if self.path == "/whoami":
                self._send(200, {"user": who})
            elif self.path == "/hospital/":
                self._send(200, {"id": 0, "result": who})
            else:
                self._send(200, {"legacy": True})

        do_GET = do_POST = do_PUT = _answer

        def _send(self, status: int, body: object) -> None:
            raw = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

    return Handler


@contextmanager
def login_legacy() -> Iterator[LoginLegacy]:
    legacy = LoginLegacy()
    server = ThreadingHTTPServer((LOOPBACK, 0), _handler(legacy))
    server.daemon_threads = True
    legacy.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield legacy
    finally:
        if legacy.hang_whoami is not None:
            legacy.hang_whoami.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
