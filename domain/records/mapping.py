"""Declarative row ↔ record mapping: a table of fields, each with its legacy columns and codec.

A `RecordMapping` is data, not code: one `FieldMap` per clean field, naming the legacy
column(s) it comes from and the codec that converts. Most fields are one column; a field may
span several (APPT_DT + APPT_TM → starts_at). The order of the fields fixes the order of the
legacy columns, which is also the key order of the legacy JSON object, so one declaration
serves the copy, the reverse write and the legacy HTTP face alike.

Errors from a codec are re-raised with the column they concern; no value is ever included.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from domain.records.errors import MappingError

R = TypeVar("R")
T = TypeVar("T")


class SingleColumnCodec(Protocol[T]):
    def decode(self, raw: object) -> T: ...

    def encode(self, value: T) -> Any: ...


@dataclass(frozen=True, slots=True)
class FieldMap:
    field: str
    columns: tuple[str, ...]
    # Typed loosely on purpose: the table is heterogeneous; each codec is typed on its own.
    decode: Callable[..., Any]
    encode: Callable[[Any], tuple[object, ...]]


def column(field: str, name: str, codec: SingleColumnCodec[Any]) -> FieldMap:
    """A clean field stored in exactly one legacy column."""

    def encode(value: Any) -> tuple[object, ...]:
        return (codec.encode(value),)

    return FieldMap(field=field, columns=(name,), decode=codec.decode, encode=encode)


def columns(
    field: str,
    names: tuple[str, ...],
    *,
    decode: Callable[..., Any],
    encode: Callable[[Any], tuple[object, ...]],
) -> FieldMap:
    """A clean field spread over several legacy columns (decode takes them in this order)."""
    return FieldMap(field=field, columns=names, decode=decode, encode=encode)


@dataclass(frozen=True, slots=True)
class RecordMapping(Generic[R]):
    record_type: Callable[..., R]
    fields: tuple[FieldMap, ...]

    @property
    def legacy_columns(self) -> tuple[str, ...]:
        return tuple(name for fm in self.fields for name in fm.columns)

    def from_legacy(self, row: Mapping[str, object]) -> R:
        values: dict[str, object] = {}
        for fm in self.fields:
            missing = [name for name in fm.columns if name not in row]
            if missing:
                raise MappingError("is missing from the row", column=missing[0])
            try:
                values[fm.field] = fm.decode(*(row[name] for name in fm.columns))
            except MappingError as e:
                raise (e if e.column else e.at("+".join(fm.columns))) from None
        return self.record_type(**values)

    def check_field(self, name: str, value: object) -> None:
        """Raise MappingError (at the legacy column) if no legacy row could hold `value` in the
        clean field `name`: the check a service makes before it accepts a write, so that every
        value it accepts reaches legacy (lengths after upper-casing, characters, ranges)."""
        fm = next(fm for fm in self.fields if fm.field == name)
        try:
            fm.encode(value)
        except MappingError as e:
            raise e.at("+".join(fm.columns)) from None

    def to_legacy(self, record: R) -> dict[str, object]:
        """The legacy row for `record`, keys in the declared (legacy JSON) order."""
        row: dict[str, object] = {}
        for fm in self.fields:
            try:
                encoded = fm.encode(getattr(record, fm.field))
            except MappingError as e:
                raise e.at(fm.field) from None
            row.update(zip(fm.columns, encoded, strict=True))
        return row
