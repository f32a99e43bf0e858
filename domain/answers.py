"""Every answer the proxy makes itself, in the format its client reads: one builder, four faces.

A refusal (400, 405, 408, 413, 431, 501, 505) or a failure (502, 503, 504) the proxy answers on its
own must look like the face the client was talking to, never like a framework's page:

- `/api` and `/api/...`, the legacy app's API (the legacy dispatcher's own test; `face_of`
  is the one rule; the services' own error handlers in `extracted/core/views.py` use it too):
  the legacy error shape `{"ERR": "...", "CODE": n}`, serialized as
  the legacy app does (`", "` and `": "` separators), `application/json`. Statuses the legacy
  app knows keep its codes (400 is 300 `BAD REQUEST`, 405 is 103 `METHOD NOT ALLOWED`, as in
  `extracted/core/legacy_errors.py`); the others are Ficus's own, in the 9xx range next to
  legacy's 900 `INTERNAL ERROR` (`LEGACY_CODES`). `ERR` is the reason in upper case, as the
  legacy app writes its texts (`BAD REQUEST: MORE THAN ONE HOST HEADER`);
- `/v2/...`: an RFC 9457 problem document, `application/problem+json`;
- `/fhir/...`: a FHIR R4 `OperationOutcome`, `application/fhir+json`;
- anything else: a small HTML page, with no product name in it.

Every such answer carries `Cache-Control: no-store` and `X-Content-Type-Options: nosniff`, and
no `Server` header. The reason given is the proxy's fixed text: for a 5xx only the status's
phrase and Ficus's own words, never upstream bytes.

Pure: bytes and strings in, status, headers and body out; the adapters (`proxy.forwarder`'s
`plain_response`, the error pages installed by `proxy.addon`) turn them into mitmproxy answers.
"""

from __future__ import annotations

import html
import json
from enum import Enum
from http import HTTPStatus
from typing import Final, NamedTuple


class Face(Enum):
    LEGACY_API = "legacy_api"
    V2 = "v2"
    FHIR = "fhir"
    HTML = "html"


class Answer(NamedTuple):
    status: int
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes


# status -> (CODE, ERR) in the legacy shape. 400 and 405 are the legacy app's own rows.
LEGACY_CODES: Final = {
    400: (300, "BAD REQUEST"),
    405: (103, "METHOD NOT ALLOWED"),
    408: (914, "REQUEST TIMEOUT"),
    413: (910, "REQUEST BODY TOO LARGE"),
    414: (915, "URI TOO LONG"),  # gunicorn's refusal (extracted/core/gunicorn_refusals.py)
    431: (911, "REQUEST HEAD TOO LARGE"),
    501: (912, "METHOD NOT IMPLEMENTED"),
    505: (913, "HTTP VERSION NOT SUPPORTED"),
    502: (920, "BAD GATEWAY"),
    503: (921, "SERVICE UNAVAILABLE"),
    504: (922, "GATEWAY TIMEOUT"),
}
# FHIR's IssueType for each status (http://hl7.org/fhir/R4/valueset-issue-type.html).
_FHIR_ISSUE: Final = {
    400: "invalid",
    405: "not-supported",
    408: "timeout",
    413: "too-costly",
    431: "too-costly",
    501: "not-supported",
    505: "not-supported",
    502: "transient",
    503: "transient",
    504: "timeout",
}
_CONTENT_TYPES: Final = {
    Face.LEGACY_API: b"application/json",
    Face.V2: b"application/problem+json",
    Face.FHIR: b"application/fhir+json",
    Face.HTML: b"text/html; charset=utf-8",
}
_COMMON: Final = ((b"Cache-Control", b"no-store"), (b"X-Content-Type-Options", b"nosniff"))
_LEGACY_SEPARATORS: Final = (", ", ": ")


def face_of(target: bytes) -> Face:
    """The face a request target speaks to: its path's first segment (absolute form too)."""
    path = target.split(b"?", 1)[0].split(b"#", 1)[0]
    if b"://" in path:
        rest = path.split(b"://", 1)[1]
        path = rest[rest.find(b"/") :] if b"/" in rest else b"/"
    first = path.split(b"/", 2)[1] if path.startswith(b"/") and len(path) > 1 else b""
    if first == b"api":
        return Face.LEGACY_API
    if first == b"v2":
        return Face.V2
    if first == b"fhir":
        return Face.FHIR
    return Face.HTML


def phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def answer(
    status: int,
    text: str,
    target: bytes,
    extra: tuple[tuple[bytes, bytes], ...] = (),
) -> Answer:
    """The proxy's own answer: `text` is its reason for the client (`Bad Request: why`)."""
    face = face_of(target)
    if face is Face.LEGACY_API:
        code, _err = LEGACY_CODES.get(status, (900 if status >= 500 else 300, ""))
        body = json.dumps({"ERR": text.upper(), "CODE": code}, separators=_LEGACY_SEPARATORS)
    elif face is Face.V2:
        problem = {"type": "about:blank", "title": phrase(status), "status": status, "detail": text}
        body = json.dumps(problem)
    elif face is Face.FHIR:
        issue = {
            "severity": "error",
            "code": _FHIR_ISSUE.get(status, "exception" if status >= 500 else "invalid"),
            "diagnostics": text,
        }
        body = json.dumps({"resourceType": "OperationOutcome", "issue": [issue]})
    else:
        title = f"{status} {html.escape(phrase(status))}"
        body = (
            f"<!DOCTYPE html>\n<html><head><title>{title}</title></head>"
            f"<body><h1>{title}</h1><p>{html.escape(text)}</p></body></html>\n"
        )
    headers = ((b"Content-Type", _CONTENT_TYPES[face]), *_COMMON, *extra)
    return Answer(status, headers, body.encode("utf-8"))


# mitmproxy's own wording for these names mitmproxy ("exceeds mitmproxy's body_size_limit"). 503 is
# mitmproxy's error only when proxy/mitm_patches/body_budget.py refused a body (mitmproxy's own are
# 502).
BUSY_TEXT: Final = "too many request bodies are being received at once; retry shortly"
_OWN_WORDS: Final = {
    413: "the request body is larger than the configured limit (--max-body)",
    503: BUSY_TEXT,
}


def mitmproxy_text(status: int, message: str) -> str:
    """The reason to show for an error mitmproxy itself found: its message for a 4xx (about the
    client's own request) unless it names mitmproxy, only the phrase for a 5xx (its message may
    quote upstream bytes)."""
    if status in _OWN_WORDS:
        return f"{phrase(status)}: {_OWN_WORDS[status]}"
    if status >= 500 or not message or "mitmproxy" in message.lower():
        return phrase(status)
    return f"{phrase(status)}: {message}"
