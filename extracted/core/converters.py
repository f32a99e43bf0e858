"""Path converters that read ids the way the legacy router does.

The legacy app matches `{id}` as ASCII digits (leading zeros allowed: /7 and /007 are the same
appointment) and caps absurdly long numbers at 10**18 instead of parsing thousands of digits,
so such an id is simply "not found". Django's `int` converter would instead give up on them
(Python refuses int() of over 4300 digits) and answer NO SUCH SERVICE, a different legacy body.
"""

from __future__ import annotations

CAPPED_ID = 10**18


class LegacyIdConverter:
    regex = "[0-9]+"

    def to_python(self, value: str) -> int:
        return int(value) if len(value.lstrip("0")) <= 18 else CAPPED_ID

    def to_url(self, value: int) -> str:
        return str(value)
