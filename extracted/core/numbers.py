"""Integers read from request text (query parameters, references): ASCII digits, bounded.

`str.isdigit()` is true for '²', '①' and other Unicode digits. `int()` refuses some of them
('²' → ValueError, which was a 500 on /v2 and FHIR) and reads others ('١٢' → 12, a number the
client never wrote in ASCII). Every face reads its integers here, so all refuse alike, and a
value with thousands of digits is refused by its length before `int()` parses it (Python itself
refuses int() of over 4300 digits).
"""

from __future__ import annotations

__all__ = ["ascii_int"]


def ascii_int(raw: str, *, low: int, high: int) -> int | None:
    """`raw` as an int in [low, high] when it is ASCII digits only (leading zeros allowed, as
    the legacy app allows them), else None. `high` must be non-negative."""
    if not raw or not raw.isascii() or not raw.isdigit():
        return None
    if len(raw.lstrip("0")) > len(str(high)):
        return None
    value = int(raw)
    return value if low <= value <= high else None
