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


# Demographics (PUT /api/patients/{id}). Each field is a string; anything else is 304.
# PHONE may be "" (the front desk clears a number it knows to be wrong; stored as NULL).
_PHONE_CHARS = frozenset("0123456789() -")
MAX_PHONE, MAX_ADDR1, MAX_CITY, MAX_LAST_NM, MAX_FIRST_NM = 14, 60, 30, 35, 25


def phone_field(body: Body, name: str) -> str:
    """`(NNN) NNN-NNNN` exactly, or "" to clear it."""
    value = _required(body, name)
    if not isinstance(value, str):
        raise errors.invalid_value(name)
    if value == "":
        return ""
    digits = [c for c in value if c.isdigit()]
    well_formed = (
        len(value) == MAX_PHONE
        and set(value) <= _PHONE_CHARS
        and value[0] == "("
        and value[4:6] == ") "
        and value[9] == "-"
        and len(digits) == 10
    )
    if not well_formed:
        raise errors.invalid_value(name)
    return value


def required_text_field(body: Body, name: str, max_length: int) -> str:
    """A non-blank string of at most `max_length` characters, stored upper case as the app does."""
    value = _required(body, name)
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > max_length:
        raise errors.invalid_value(name)
    return value.strip().upper()


def name_part_field(body: Body, name: str, max_length: int) -> str:
    """A LAST_NM or FIRST_NM: like required text, and without a comma (search splits on it)."""
    value = required_text_field(body, name, max_length)
    if "," in value:
        raise errors.invalid_value(name)
    return value


def state_field(body: Body, name: str) -> str:
    """Two ASCII letters; lower case is accepted and stored upper case."""
    value = _required(body, name)
    if not isinstance(value, str) or len(value) != 2 or not (value.isascii() and value.isalpha()):
        raise errors.invalid_value(name)
    return value.upper()


def zip_field(body: Body, name: str) -> str:
    """Five ASCII digits (ZIP is CHAR(5): no ZIP+4)."""
    value = _required(body, name)
    if not isinstance(value, str) or len(value) != 5 or not (value.isascii() and value.isdigit()):
        raise errors.invalid_value(name)
    return value
