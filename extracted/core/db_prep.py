"""Per-field value preparers for raw statements: what `field.get_db_prep_value` returns, faster.

The sinks write through prepared statements, so every value must be turned into what the
backend expects exactly as the ORM would: the field's own `get_db_prep_value` does that, and
is the fallback for every field and every value. For a handful of *exact* built-in field
classes and plain values, that method does nothing but a type check before the backend's
adapter, so the preparer calls the adapter directly (the same result, measured ~3x cheaper
per value), and adapts each distinct datetime of a batch once. Subclasses are never shortcut:
a custom field such as `EncryptedTextField` (a TextField that encrypts) always goes through its
own method.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import (
    BigIntegerField,
    CharField,
    DateField,
    DateTimeField,
    Field,
    IntegerField,
    PositiveIntegerField,
    PositiveSmallIntegerField,
    SmallIntegerField,
    TextField,
)

Preparer = Callable[[Any], Any]
_INTEGERS = (
    IntegerField,
    BigIntegerField,
    SmallIntegerField,
    PositiveIntegerField,
    PositiveSmallIntegerField,
)


def preparer(field: Field[Any, Any], connection: BaseDatabaseWrapper) -> Preparer:
    """A function value -> database parameter for `field` on `connection`."""
    ops = connection.ops

    def generic(value: Any) -> Any:
        # Enum members go as their value (psycopg would dump a bare Enum by its name).
        if isinstance(value, enum.Enum):
            value = value.value
        return field.get_db_prep_value(value, connection, prepared=False)

    kind = type(field)
    if kind in _INTEGERS:
        internal = field.get_internal_type()
        return lambda v: ops.adapt_integerfield_value(v, internal) if type(v) is int else generic(v)
    if kind is CharField or kind is TextField:
        return lambda v: v if type(v) is str else generic(v)
    if kind is DateTimeField:
        return _datetimes(ops.adapt_datetimefield_value, generic)
    if kind is DateField:
        return lambda v: ops.adapt_datefield_value(v) if type(v) is date else generic(v)
    return generic


def _datetimes(adapt: Preparer, generic: Preparer) -> Preparer:
    """Aware datetimes through the backend's adapter, each distinct instant once.

    A preparer lives for one batch, and its datetimes repeat (UPD_TS has whole seconds, slots
    are on the quarter-hour). Equal aware datetimes are the same instant, and the adapter's
    result depends on the instant only, so it is kept. A naive datetime never equals an aware
    one; it takes the field's own path (warning, default zone).
    """
    done: dict[datetime, Any] = {}

    def prepare(value: Any) -> Any:
        found = done.get(value) if type(value) is datetime else None
        if found is not None:
            return found
        if type(value) is datetime and value.utcoffset() is not None:
            found = done[value] = adapt(value)
            return found
        return generic(value)

    return prepare
