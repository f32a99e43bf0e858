"""Just enough HTTP on top of WSGI: a parsed request, a response, and the legacy response shapes.

No framework: the app was written before the team trusted one. `Request` reads the WSGI environ
once; `Response` is a status, headers and bytes. JSON responses always carry
`Content-Type: application/json` and `Cache-Control: no-store`; HTML pages are `no-store` too
because every page but the login form shows patient data.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs
from wsgiref.types import WSGIEnvironment

MAX_BODY_BYTES = 1_000_000


class BodyTooLargeError(Exception):
    """The request body is over MAX_BODY_BYTES."""


@dataclass
class Request:
    method: str
    path: str
    query: Mapping[str, str]
    cookies: Mapping[str, str]
    environ: WSGIEnvironment
    _body: bytes | None = field(default=None, repr=False)

    @classmethod
    def from_environ(cls, environ: WSGIEnvironment) -> Request:
        return cls(
            method=environ.get("REQUEST_METHOD", "GET").upper(),
            path=_wsgi_str(environ.get("PATH_INFO", "")) or "/",
            query=_first_values(_wsgi_str(environ.get("QUERY_STRING", ""))),
            cookies=parse_cookies(environ.get("HTTP_COOKIE", "")),
            environ=environ,
        )

    def body(self) -> bytes:
        """The raw body, read once; raises BodyTooLargeError over MAX_BODY_BYTES."""
        if self._body is None:
            try:
                length = int(self.environ.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length > MAX_BODY_BYTES:
                raise BodyTooLargeError
            stream = self.environ["wsgi.input"]
            # Without a length (chunked), read up to the limit and one byte more to notice excess.
            data = stream.read(length) if length > 0 else stream.read(MAX_BODY_BYTES + 1)
            if len(data) > MAX_BODY_BYTES:
                raise BodyTooLargeError
            self._body = data
        return self._body

    def json_object(self) -> dict[str, Any] | None:
        """The body as a JSON object, or None if it is anything else (the caller's 300)."""
        try:
            value = json.loads(self.body().decode("utf-8"))
        except (BodyTooLargeError, UnicodeDecodeError, ValueError):
            return None
        return value if isinstance(value, dict) else None

    def form(self) -> Mapping[str, str]:
        """An `application/x-www-form-urlencoded` body (the login form)."""
        try:
            return _first_values(self.body().decode("utf-8", "replace"))
        except BodyTooLargeError:
            return {}


def _wsgi_str(value: str) -> str:
    # PEP 3333 hands over raw bytes as latin-1 text; browsers send UTF-8.
    return value.encode("latin-1", "replace").decode("utf-8", "replace")


def _first_values(query_string: str) -> dict[str, str]:
    return {
        key: values[0] for key, values in parse_qs(query_string, keep_blank_values=True).items()
    }


def parse_cookies(header: str) -> dict[str, str]:
    """`a=1; b=2` as a dict; tolerant of junk, which http.cookies is not."""
    cookies: dict[str, str] = {}
    for part in header.split(";"):
        name, sep, value = part.strip().partition("=")
        if sep and name and name not in cookies:
            cookies[name] = value.strip().strip('"')
    return cookies


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes = b""

    @property
    def status_line(self) -> str:
        try:
            return f"{self.status} {HTTPStatus(self.status).phrase}"
        except ValueError:
            return f"{self.status} Unknown"

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None


def json_response(payload: Mapping[str, Any], status: int = 200) -> Response:
    body = json.dumps(payload, separators=(", ", ": ")).encode()
    headers = [("Content-Type", "application/json"), ("Cache-Control", "no-store")]
    return Response(status, headers, body)


def html_response(
    html: str, status: int = 200, headers: Iterable[tuple[str, str]] = ()
) -> Response:
    return Response(
        status,
        [
            ("Content-Type", "text/html; charset=utf-8"),
            ("Cache-Control", "no-store"),
            ("X-Frame-Options", "DENY"),
            *headers,
        ],
        html.encode(),
    )


def redirect(location: str, headers: Iterable[tuple[str, str]] = ()) -> Response:
    """302 to a relative path: the app never knows its own host or port (a proxy sits in front)."""
    return Response(302, [("Location", location), ("Cache-Control", "no-store"), *headers])


def session_cookie(name: str, value: str) -> str:
    return f"{name}={value}; HttpOnly; SameSite=Lax; Path=/"


def expired_cookie(name: str) -> str:
    return f"{name}=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0"
