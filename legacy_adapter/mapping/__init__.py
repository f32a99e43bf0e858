"""Pure mapping between legacy rows and clean records (standard library only).

Import-linter keeps Django, SQLAlchemy and the proxy out of this package, so the same mapping
runs in the sync workers, the services' legacy face and the tests, and can be reasoned about
(and property-tested) on plain dicts. `__all__` is the public API.
"""

from __future__ import annotations

from legacy_adapter.mapping.appointments import (
    APPT_SCHED_COLUMNS,
    LEGACY_APPOINTMENT_KEYS,
    STATUS_CODES,
    AppointmentRecord,
    AppointmentStatus,
    appointment_from_legacy,
    appointment_mapping,
    appointment_to_legacy,
)
from legacy_adapter.mapping.codecs import (
    CodeCodec,
    DisplayNameCodec,
    IntRangeCodec,
    LegacyDateCodec,
    LegacyTimeCodec,
    LocalDateTimeCodec,
    PersonName,
    PersonNameCodec,
    TextCodec,
    UtcTimestampCodec,
    format_person_name,
)
from legacy_adapter.mapping.errors import MappingError
from legacy_adapter.mapping.records import FieldMap, RecordMapping, column, columns

__all__ = [
    "APPT_SCHED_COLUMNS",
    "LEGACY_APPOINTMENT_KEYS",
    "STATUS_CODES",
    "AppointmentRecord",
    "AppointmentStatus",
    "CodeCodec",
    "DisplayNameCodec",
    "FieldMap",
    "IntRangeCodec",
    "LegacyDateCodec",
    "LegacyTimeCodec",
    "LocalDateTimeCodec",
    "MappingError",
    "PersonName",
    "PersonNameCodec",
    "RecordMapping",
    "TextCodec",
    "UtcTimestampCodec",
    "appointment_from_legacy",
    "appointment_mapping",
    "appointment_to_legacy",
    "column",
    "columns",
    "format_person_name",
]
