"""What a log line may say of a failure: its kind and the driver's first line, never the SQL.

SQLAlchemy appends the statement and its parameters to a database error's text, and those
parameters are patient data: a log line carries `describe_error(e)` instead. Pure.
"""

from __future__ import annotations


def describe_error(error: Exception) -> str:
    """The driver's own reason, one line, without the SQL text SQLAlchemy appends (Django's
    database errors carry the driver's as their cause)."""
    original = getattr(error, "orig", None) or error.__cause__
    cause = original if isinstance(original, BaseException) else error
    text = str(cause).strip().splitlines()
    return f"{type(cause).__name__}: {text[0] if text else 'no detail'}"
