"""Field checks for JSON bodies and query strings, raising the contract's 3xx error codes.

The rules, which extracted services must copy:
- a field that is absent or JSON `null` is missing (301 `MISSING FIELD <NAME>`);
- ids are JSON integers (not strings, not booleans) from 1 to 2147483647, else 304;
- dates are `YYYYMMDD` strings naming a real day, else 302, whatever the type;
- times are `HHMM` strings from 0000 to 2359, else 303, whatever the type;
- `DUR_MIN` is a JSON integer from 5 to 240, else 304; `REASON_TXT` a string of at most 80.
Fields are checked in the order the handler asks for them, and the first failure wins.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from demo.legacy import errors
from demo.legacy.legacy_time import parse_legacy_date, parse_legacy_time

MAX_ID = 2_147_483_647  # INTEGER is 32-bit on PostgreSQL and MariaDB
MIN_DURATION, MAX_DURATION = 5, 240
MAX_REASON = 80

Body = Mapping[str, Any]


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def present(body: Body, name: str) -> bool:
    return body.get(name) is not None


def _required(body: Body, name: str) -> Any:
    """The field's value; an absent field and a JSON null are both MISSING FIELD (301)."""
    value = body.get(name)
    if value is None:
        raise errors.missing_field(name)
    return value


def id_field(body: Body, name: str) -> int:
    value = _required(body, name)
    if not _is_int(value) or not 1 <= value <= MAX_ID:
        raise errors.invalid_value(name)
    return int(value)


def date_field(body: Body, name: str) -> str:
    value = _required(body, name)
    if parse_legacy_date(value) is None:
        raise errors.invalid_date()
    return str(value)


def time_field(body: Body, name: str) -> str:
    value = _required(body, name)
    if parse_legacy_time(value) is None:
        raise errors.invalid_time()
    return str(value)


def duration_field(body: Body, name: str) -> int:
    value = _required(body, name)
    if not _is_int(value) or not MIN_DURATION <= value <= MAX_DURATION:
        raise errors.invalid_value(name)
    return int(value)


def text_field(body: Body, name: str, max_length: int = MAX_REASON) -> str:
    """An optional text field; absent or null is the empty string."""
    value = body.get(name)
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > max_length:
        raise errors.invalid_value(name)
    return value


def id_param(query: Mapping[str, str], name: str) -> int:
    """A numeric query parameter such as `prov`; blank counts as missing."""
    value = query.get(name, "").strip()
    if not value:
        raise errors.missing_field(name)
    digits = value.lstrip("0")
    if not value.isascii() or not value.isdigit() or len(digits) > 10:
        raise errors.invalid_value(name)
    if not 1 <= int(value) <= MAX_ID:
        raise errors.invalid_value(name)
    return int(value)


def date_param(query: Mapping[str, str], name: str) -> str:
    value = query.get(name, "").strip()
    if not value:
        raise errors.missing_field(name)
    if parse_legacy_date(value) is None:
        raise errors.invalid_date()
    return value
