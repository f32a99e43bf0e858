"""The legacy app's input rules for appointment requests, raising its exact 3xx errors.

Copied rule for rule from the legacy app (its validation.py is the reference; the service may
not import it): a field that is absent or JSON null is missing (301); ids are JSON integers
1..2147483647, else 304; dates are `YYYYMMDD` strings naming a real day, else 302; times are
`HHMM` strings 0000..2359, else 303; DUR_MIN is an integer 5..240, else 304; REASON_TXT is a
string of at most 80. Fields are checked in the order the handler asks, first failure wins.
Query parameters take the *first* value of a repeated name, as the legacy parser does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from django.http import HttpRequest

from extracted.core.bodies import legacy_body
from extracted.core.legacy_errors import (
    BAD_REQUEST,
    INVALID_DATE,
    INVALID_TIME,
    LegacyApiError,
    invalid_value,
    missing_field,
)
from extracted.core.legacy_query import first_value
from extracted.core.numbers import ascii_int

MAX_ID = 2_147_483_647
MIN_DURATION, MAX_DURATION = 5, 240
MAX_REASON = 80
MAX_BODY_BYTES = 1_000_000  # the legacy app's limit; a bigger body is BAD REQUEST there

Body = Mapping[str, Any]
_DATE_RE = re.compile(r"[0-9]{8}")
_TIME_RE = re.compile(r"[0-9]{4}")


def parse_date(value: object) -> date | None:
    if not isinstance(value, str) or not _DATE_RE.fullmatch(value):
        return None
    try:
        return date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        return None


def parse_time(value: object) -> int | None:
    """Minutes after midnight of an `HHMM` string, else None."""
    if not isinstance(value, str) or not _TIME_RE.fullmatch(value):
        return None
    hours, minutes = int(value[:2]), int(value[2:])
    if hours > 23 or minutes > 59:
        return None
    return hours * 60 + minutes


def json_object(request: HttpRequest) -> dict[str, Any]:
    """The body as a JSON object, else BAD REQUEST (300), as the legacy app decides it."""
    raw = legacy_body(request)
    if raw is None or len(raw) > MAX_BODY_BYTES:
        raise LegacyApiError(BAD_REQUEST)
    try:
        value = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise LegacyApiError(BAD_REQUEST) from None
    if not isinstance(value, dict):
        raise LegacyApiError(BAD_REQUEST)
    return value


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def present(body: Body, name: str) -> bool:
    return body.get(name) is not None


def _required(body: Body, name: str) -> Any:
    value = body.get(name)
    if value is None:
        raise LegacyApiError(missing_field(name))
    return value


def id_field(body: Body, name: str) -> int:
    value = _required(body, name)
    if not _is_int(value) or not 1 <= value <= MAX_ID:
        raise LegacyApiError(invalid_value(name))
    return int(value)


def date_field(body: Body, name: str) -> str:
    value = _required(body, name)
    if parse_date(value) is None:
        raise LegacyApiError(INVALID_DATE)
    return str(value)


def time_field(body: Body, name: str) -> str:
    value = _required(body, name)
    if parse_time(value) is None:
        raise LegacyApiError(INVALID_TIME)
    return str(value)


def duration_field(body: Body, name: str) -> int:
    value = _required(body, name)
    if not _is_int(value) or not MIN_DURATION <= value <= MAX_DURATION:
        raise LegacyApiError(invalid_value(name))
    return int(value)


def text_field(body: Body, name: str, max_length: int = MAX_REASON) -> str:
    value = body.get(name)
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > max_length:
        raise LegacyApiError(invalid_value(name))
    return value


def id_param(request: HttpRequest, name: str) -> int:
    value = first_value(request, name).strip()
    if not value:
        raise LegacyApiError(missing_field(name))
    found = ascii_int(value, low=1, high=MAX_ID)
    if found is None:
        raise LegacyApiError(invalid_value(name))
    return found


def date_param(request: HttpRequest, name: str) -> str:
    value = first_value(request, name).strip()
    if not value:
        raise LegacyApiError(missing_field(name))
    if parse_date(value) is None:
        raise LegacyApiError(INVALID_DATE)
    return value
