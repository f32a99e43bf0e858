"""A small in-process WSGI test client with a cookie jar: no sockets, the real app."""

from __future__ import annotations

import io
import json as jsonlib
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode
from wsgiref.types import WSGIApplication
from wsgiref.util import setup_testing_defaults


@dataclass
class TestResponse:
    __test__ = False  # not a test class, whatever pytest thinks of the name

    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    def header_values(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def json(self) -> Any:
        return jsonlib.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode()


@dataclass
class Client:
    app: WSGIApplication
    cookies: dict[str, str] = field(default_factory=dict)

    def request(
        self,
        method: str,
        url: str,
        *,
        json: Any = None,
        form: dict[str, str] | None = None,
        body: bytes | None = None,
        content_type: str | None = None,
    ) -> TestResponse:
        path, _, query = url.partition("?")
        if json is not None:
            body, content_type = jsonlib.dumps(json).encode(), "application/json"
        elif form is not None:
            body, content_type = urlencode(form).encode(), "application/x-www-form-urlencoded"
        body = body or b""
        environ: dict[str, Any] = {
            "REQUEST_METHOD": method,
            # PEP 3333: the raw path bytes as latin-1 text.
            "PATH_INFO": path.encode().decode("latin-1"),
            "QUERY_STRING": query,
            "CONTENT_LENGTH": str(len(body)) if body else "",
            "wsgi.input": io.BytesIO(body),
        }
        if content_type:
            environ["CONTENT_TYPE"] = content_type
        if self.cookies:
            environ["HTTP_COOKIE"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        setup_testing_defaults(environ)
        captured: dict[str, Any] = {}

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Any:
            captured["status"], captured["headers"] = status, headers
            return lambda _data: None

        chunks = self.app(environ, start_response)
        data = b"".join(chunks)
        response = TestResponse(int(captured["status"].split()[0]), captured["headers"], data)
        self._remember_cookies(response)
        return response

    def _remember_cookies(self, response: TestResponse) -> None:
        for header in response.header_values("Set-Cookie"):
            pair, *attributes = [part.strip() for part in header.split(";")]
            name, _, value = pair.partition("=")
            if any(a.lower() == "max-age=0" for a in attributes) or not value:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value

    def get(self, url: str) -> TestResponse:
        return self.request("GET", url)

    def post(self, url: str, json: Any = None, **kwargs: Any) -> TestResponse:
        return self.request("POST", url, json=json, **kwargs)

    def put(self, url: str, json: Any = None, **kwargs: Any) -> TestResponse:
        return self.request("PUT", url, json=json, **kwargs)

    def login(self, login: str, password: str = "demo") -> TestResponse:
        return self.post("/login", form={"login": login, "password": password})
