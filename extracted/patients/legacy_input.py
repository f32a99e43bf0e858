"""Reading a legacy PUT /api/patients/{id} body exactly as the legacy app does.

The rules are the legacy app's (demo/legacy/validation.py, docs/legacy-contract.md), restated
here because a service never imports the legacy app: the body must be a JSON object (else 300
BAD REQUEST; a body over 1 MB counts as not one); fields are checked in the order PHONE, ADDR1,
CITY, ST, ZIP, LAST_NM, FIRST_NM and the first failure wins; an absent or null field is 301
MISSING FIELD; a wrong type or format is 304 INVALID VALUE. Text is trimmed and upper-cased
before it is stored, as the legacy app does. The contract tests run both side by side.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from extracted.core.legacy_errors import LegacyError, invalid_value, missing_field

MAX_BODY_BYTES = 1_000_000
BAD_REQUEST = LegacyError(400, 300, "BAD REQUEST")
_PHONE_CHARS = frozenset("0123456789() -")


class LegacyInputError(Exception):
    def __init__(self, error: LegacyError) -> None:
        super().__init__(error.message)
        self.error = error


@dataclass(frozen=True, slots=True)
class DemographicsInput:
    """Validated fields in clean names; `phone` "" clears it, None name parts stay unchanged."""

    phone: str
    address_line: str
    city: str
    state: str
    postal_code: str
    family_name: str | None
    given_name: str | None

    def changes(self) -> dict[str, str]:
        fields = {
            "phone": self.phone,
            "address_line": self.address_line,
            "city": self.city,
            "state": self.state,
            "postal_code": self.postal_code,
            "family_name": self.family_name,
            "given_name": self.given_name,
        }
        return {name: value for name, value in fields.items() if value is not None}


def _missing(name: str) -> LegacyInputError:
    return LegacyInputError(missing_field(name))


def _invalid(name: str) -> LegacyInputError:
    return LegacyInputError(invalid_value(name))


def json_object(body: bytes | None) -> dict[str, Any]:
    """None is a body too large to read at all (extracted.core.bodies)."""
    if body is None or len(body) > MAX_BODY_BYTES:
        raise LegacyInputError(BAD_REQUEST)
    try:
        value = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise LegacyInputError(BAD_REQUEST) from None
    if not isinstance(value, dict):
        raise LegacyInputError(BAD_REQUEST)
    return value


def _required(body: Mapping[str, Any], name: str) -> Any:
    value = body.get(name)
    if value is None:
        raise _missing(name)
    return value


def _phone(body: Mapping[str, Any], name: str) -> str:
    value = _required(body, name)
    if not isinstance(value, str):
        raise _invalid(name)
    if value == "":
        return ""
    well_formed = (
        len(value) == 14
        and set(value) <= _PHONE_CHARS
        and value[0] == "("
        and value[4:6] == ") "
        and value[9] == "-"
        and sum(c.isdigit() for c in value) == 10
    )
    if not well_formed:
        raise _invalid(name)
    return value


def _text(body: Mapping[str, Any], name: str, max_length: int) -> str:
    value = _required(body, name)
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > max_length:
        raise _invalid(name)
    return value.strip().upper()


def _name_part(body: Mapping[str, Any], name: str, max_length: int) -> str | None:
    if body.get(name) is None:
        return None
    value = _text(body, name, max_length)
    if "," in value:
        raise _invalid(name)
    return value


def _exact(body: Mapping[str, Any], name: str, length: int, *, letters: bool) -> str:
    value = _required(body, name)
    kind_ok = isinstance(value, str) and value.isascii() and len(value) == length
    if not kind_ok or not (value.isalpha() if letters else value.isdigit()):
        raise _invalid(name)
    return str(value).upper()


def demographics(body: Mapping[str, Any]) -> DemographicsInput:
    """The validated body, or LegacyInputError with the legacy error of the first bad field."""
    phone = _phone(body, "PHONE")
    address_line = _text(body, "ADDR1", 60)
    city = _text(body, "CITY", 30)
    state = _exact(body, "ST", 2, letters=True)
    postal_code = _exact(body, "ZIP", 5, letters=False)
    family_name = _name_part(body, "LAST_NM", 35)
    given_name = _name_part(body, "FIRST_NM", 25)
    return DemographicsInput(phone, address_line, city, state, postal_code, family_name, given_name)
