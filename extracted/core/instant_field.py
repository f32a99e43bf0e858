"""A model field for instants as wide as the legacy calendar: BIGINT microseconds since 1970.

Django's DateTimeField converts to UTC before it stores, which no Python datetime can do for
9999-12-31 23:30 in Chicago (year 10000 in UTC) or 0001-01-01 00:00 in Tokyo (year 0); and a
datetime column would not hold them on every backend either (MariaDB stops at year 9999, and
SQLite's text would sort year 10000 before year 9999). A count of microseconds holds every
instant `domain.records.instants` can, orders as the instants do on every backend, and
keeps what a DateTimeField kept (microseconds). In Python the value is an aware datetime in that
module's normal form: UTC whenever UTC holds it, as a DateTimeField gave.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils.dateparse import parse_datetime

from domain.records.instants import epoch_micros, from_epoch_micros, normal


class InstantField(models.Field):  # type: ignore[type-arg]
    description = "An aware instant, stored as microseconds since 1970-01-01 00:00 UTC"

    def get_internal_type(self) -> str:
        return "BigIntegerField"

    def from_db_value(
        self, value: int | None, expression: object, connection: BaseDatabaseWrapper
    ) -> datetime | None:
        return None if value is None else from_epoch_micros(int(value))

    def to_python(self, value: Any) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return from_epoch_micros(value)
        parsed = parse_datetime(value) if isinstance(value, str) else value
        if not isinstance(parsed, datetime) or parsed.utcoffset() is None:
            raise ValidationError("Enter a time-zone-aware date and time.", code="invalid")
        return normal(parsed)

    def get_prep_value(self, value: Any) -> int | None:
        value = super().get_prep_value(value)
        if isinstance(value, datetime) and value.utcoffset() is not None:
            return epoch_micros(value)  # the common case, without the round trip to_python makes
        instant = self.to_python(value)
        return None if instant is None else epoch_micros(instant)

    def value_to_string(self, obj: models.Model) -> str:
        value = self.value_from_object(obj)
        return "" if value is None else value.isoformat()
