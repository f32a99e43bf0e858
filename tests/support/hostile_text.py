"""Text that looks like what a legacy format expects and is not: shared by the fuzzers."""

from __future__ import annotations


def fullwidth(digits: str) -> str:
    """The same digits in full width (U+FF10..): `str.isdigit()` says yes, legacy says no."""
    return "".join(chr(0xFF10 + int(d)) for d in digits)
