"""Generic record codecs: legacy columns to clean values and back (standard library only).

Each feature's mapping (`legacy_adapter.mapping.<feature>`) is built from these pieces, so the
same mapping runs in the sync workers, the services' legacy face and the tests, and can be
property-tested on plain dicts. `__all__` is the public API.
"""

from __future__ import annotations

from domain.records.codecs import (
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
from domain.records.errors import MappingError
from domain.records.mapping import FieldMap, RecordMapping, column, columns

__all__ = [
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
    "column",
    "columns",
    "format_person_name",
]
