"""Small reusable codecs between legacy column values and clean Python values.

Each codec is a frozen object with `decode` (legacy → clean) and `encode` (clean → legacy) that
are exact inverses on valid values, so legacy → clean → legacy is the identity. They are strict
on purpose: a value that is not exactly what the legacy format promises (`"930"` for a CHAR(4)
time, a 31st of April, a status code nobody documented) raises `MappingError` instead of being
guessed at, because a guess silently moves an appointment while an error gets a human to look.

Messages name the problem, never the value (legacy rows hold PHI), and library exceptions that
echo the value (`strptime`, `int()`) are never chained: every `raise` from one uses `from None`.

Time zones: APPT_DT + APPT_TM are wall-clock times in the hospital's zone. `LocalDateTimeCodec`
turns them into aware datetimes (UTC whenever UTC holds them; at the calendar's ends see
instants.py) with these rules, chosen so nothing is ever invented:
  * a wall time in the spring-forward gap (02:30 on the day clocks jump 02:00 → 03:00) never
    happened, so it is rejected as unmappable rather than shifted by an hour either way;
  * a wall time in the fall-back overlap (01:30 happens twice) is read as its *first*
    occurrence (`fold=0`, still daylight time). The legacy format cannot say which one was
    meant; the first is what a person booking "01:30" on that morning reaches first. Encoding
    either instant gives back "0130", so clean → legacy → clean maps the second one to the first.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, tzinfo
from typing import Generic, TypeVar

from domain.records.errors import MappingError
from domain.records.instants import in_zone, normal

E = TypeVar("E", bound=enum.Enum)


def _digits(raw: object, length: int, what: str) -> str:
    if not isinstance(raw, str):
        raise MappingError(f"is not text (expected {what})")
    # isascii(): str.isdigit() also accepts '²' and other Unicode digits.
    if len(raw) != length or not (raw.isascii() and raw.isdigit()):
        raise MappingError(f"is not {length} digits (expected {what})")
    return raw


@dataclass(frozen=True, slots=True)
class LegacyDateCodec:
    """CHAR(8) `YYYYMMDD` ↔ `date`."""

    def decode(self, raw: object) -> date:
        text = _digits(raw, 8, "YYYYMMDD")
        try:
            return date(int(text[:4]), int(text[4:6]), int(text[6:]))
        except ValueError:
            raise MappingError("is not a real calendar date") from None

    def encode(self, value: date) -> str:
        if isinstance(value, datetime) or not isinstance(value, date):
            raise MappingError("is not a date")
        return f"{value.year:04d}{value.month:02d}{value.day:02d}"


@dataclass(frozen=True, slots=True)
class LegacyTimeCodec:
    """CHAR(4) `HHMM` (24-hour clock, whole minutes) ↔ naive `time`."""

    def decode(self, raw: object) -> time:
        text = _digits(raw, 4, "HHMM")
        try:
            return time(int(text[:2]), int(text[2:]))
        except ValueError:
            raise MappingError("is not a time of day between 0000 and 2359") from None

    def encode(self, value: time) -> str:
        if not isinstance(value, time) or value.tzinfo is not None:
            raise MappingError("is not a naive time of day")
        if value.second or value.microsecond:
            raise MappingError("has seconds; the legacy format keeps whole minutes")
        return f"{value.hour:02d}{value.minute:02d}"


@dataclass(frozen=True, slots=True)
class UtcTimestampCodec:
    """CHAR(14) `YYYYMMDDHHMMSS` in UTC ↔ aware UTC `datetime` (whole seconds)."""

    def decode(self, raw: object) -> datetime:
        text = _digits(raw, 14, "YYYYMMDDHHMMSS")
        year, month, day = int(text[:4]), int(text[4:6]), int(text[6:8])
        hour, minute, second = int(text[8:10]), int(text[10:12]), int(text[12:])
        try:
            return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
        except ValueError:
            raise MappingError("is not a real UTC date and time") from None

    def encode(self, value: datetime) -> str:
        if not isinstance(value, datetime) or value.utcoffset() is None:
            raise MappingError("is not a time-zone-aware datetime")
        if value.microsecond:
            raise MappingError("has fractions of a second; the legacy format keeps whole seconds")
        return value.astimezone(UTC).strftime("%Y%m%d%H%M%S")


@dataclass(frozen=True, slots=True)
class LocalDateTimeCodec:
    """CHAR(8) date + CHAR(4) time, wall clock in `zone` ↔ aware `datetime` (UTC whenever UTC
    holds it: see instants.py), for every wall time of years 1-9999 in any zone.

    See the module docstring for the daylight-saving rules (gap rejected, overlap = first).
    """

    zone: tzinfo
    date_column: str = "APPT_DT"
    time_column: str = "APPT_TM"
    _date: LegacyDateCodec = field(default=LegacyDateCodec(), repr=False)
    _time: LegacyTimeCodec = field(default=LegacyTimeCodec(), repr=False)

    def decode(self, date_raw: object, time_raw: object) -> datetime:
        try:
            day = self._date.decode(date_raw)
        except MappingError as e:
            raise e.at(self.date_column) from None
        try:
            clock = self._time.decode(time_raw)
        except MappingError as e:
            raise e.at(self.time_column) from None
        wall = datetime.combine(day, clock)
        # The normal form of instants.py: UTC, unless UTC is outside years 1-9999 (the first
        # hours of 00010101 east of Greenwich, the last of 99991231 west of it).
        instant = normal(wall.replace(tzinfo=self.zone, fold=0))
        # A wall time that does not survive the round trip through UTC never existed locally.
        if in_zone(instant, self.zone).replace(tzinfo=None) != wall:
            raise MappingError(
                f"is in the daylight-saving gap of {self.zone}: that local time never happened",
                column=f"{self.date_column}+{self.time_column}",
            )
        return instant

    def encode(self, value: datetime) -> tuple[str, str]:
        if not isinstance(value, datetime) or value.utcoffset() is None:
            raise MappingError("is not a time-zone-aware datetime")
        try:
            local = in_zone(value, self.zone)
        except OverflowError:
            raise MappingError("is outside the dates the legacy format can hold") from None
        # Whole minutes on the wall clock, not in UTC: before 1883 the zone's offset was local
        # mean time (Chicago: -5:50:36), so a whole local minute has seconds in UTC.
        if local.second or local.microsecond:
            raise MappingError("has seconds; the legacy format keeps whole minutes")
        return self._date.encode(local.date()), self._time.encode(local.time())


@dataclass(frozen=True, slots=True)
class CodeCodec(Generic[E]):
    """A one-letter legacy code ↔ an enum member, from a declared table (both directions)."""

    codes: Mapping[str, E]

    def __post_init__(self) -> None:
        if len(set(self.codes.values())) != len(self.codes):
            raise ValueError("each enum member must have exactly one legacy code")

    def decode(self, raw: object) -> E:
        if not isinstance(raw, str) or raw not in self.codes:
            raise MappingError(f"is not one of the codes {', '.join(sorted(self.codes))}")
        return self.codes[raw]

    def encode(self, value: E) -> str:
        for code, member in self.codes.items():
            if member is value:
                return code
        raise MappingError("has no legacy code")


@dataclass(frozen=True, slots=True)
class IntRangeCodec:
    """INTEGER ↔ `int` within [minimum, maximum] (booleans are not integers here)."""

    minimum: int = 1
    maximum: int = 2**31 - 1  # the legacy INTEGER columns are 32-bit on every backend

    def _check(self, value: object) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise MappingError("is not an integer")
        if not self.minimum <= value <= self.maximum:
            raise MappingError(f"is outside {self.minimum}..{self.maximum}")
        return value

    def decode(self, raw: object) -> int:
        return self._check(raw)

    def encode(self, value: int) -> int:
        return self._check(value)


def _storable(value: str) -> bool:
    # NUL is refused by PostgreSQL's text types, and a lone surrogate (JSON "\\ud800") cannot be
    # encoded for any server; every other character fits the legacy columns (utf8mb4 on MariaDB).
    return "\x00" not in value and not any("\ud800" <= c <= "\udfff" for c in value)


def legacy_text(value: object, max_length: int) -> str:
    """`value` as the legacy VARCHAR(max_length) holds it, or MappingError: the one check of
    text for every column, used both ways (a row read and a service's write before it is made)."""
    if not isinstance(value, str):
        raise MappingError("is not text")
    if len(value) > max_length:
        raise MappingError(f"is longer than {max_length} characters")
    if not _storable(value):
        raise MappingError("holds a character the legacy database cannot store")
    return value


@dataclass(frozen=True, slots=True)
class TextCodec:
    """VARCHAR(n) that may be NULL ↔ `str`, where NULL reads as "" (no reason given).

    Encoding "" gives `empty_as` back: "" by default, because that is what the legacy app itself
    stores and serves for a blank field. A legacy NULL therefore comes back as "" after a round
    trip: the one normalization this mapping makes, and invisible in the legacy JSON.
    """

    max_length: int
    empty_as: str | None = ""

    def decode(self, raw: object) -> str:
        if raw is None:
            return ""
        return legacy_text(raw, self.max_length)

    def encode(self, value: str) -> str | None:
        return legacy_text(value, self.max_length) or self.empty_as


@dataclass(frozen=True, slots=True)
class PersonName:
    last: str
    first: str


NAME_SEPARATOR = ", "


# LAST_NM VARCHAR(35) + ", " + FIRST_NM VARCHAR(25)
PERSON_NAME_MAX = 62


@dataclass(frozen=True, slots=True)
class PersonNameCodec:
    """`LAST, FIRST` (how the legacy app shows a person) ↔ `PersonName`.

    The text is split at the first ", ", so a first name may contain one but a last name may not
    (it would not survive the round trip). Case and spacing are kept as stored: the legacy app
    shows the raw columns, and so must we.
    """

    max_length: int = PERSON_NAME_MAX

    def decode(self, raw: object) -> PersonName:
        if raw is None:
            raise MappingError("is missing (no matching person row)")
        last, separator, first = legacy_text(raw, self.max_length).partition(NAME_SEPARATOR)
        if not separator or not last or not first:
            raise MappingError("is not in the form 'LAST, FIRST'")
        return PersonName(last=last, first=first)

    def encode(self, value: PersonName) -> str:
        if not value.last or not value.first:
            raise MappingError("has an empty last or first name")
        if NAME_SEPARATOR in value.last:
            raise MappingError("has a last name containing ', ' (ambiguous as 'LAST, FIRST')")
        return legacy_text(f"{value.last}{NAME_SEPARATOR}{value.first}", self.max_length)


@dataclass(frozen=True, slots=True)
class DisplayNameCodec:
    """A `LAST, FIRST` snapshot of another record (the patient's name on an appointment), kept
    as text exactly as the legacy app shows it.

    It is derived data: the legacy app builds it from whatever the person row holds and shows
    it, so the copy must take any text that fits, and never refuse the appointment because the
    *patient's* row is odd (an empty first name, a comma in a last name). That row is its own
    feature's to map (and to dead-letter): one bad patient row must not block its
    appointments (G6). "" is what the legacy app shows when the person row is missing.
    """

    max_length: int = PERSON_NAME_MAX

    def decode(self, raw: object) -> str:
        if raw is None or raw == "":
            return ""
        return legacy_text(raw, self.max_length)

    def encode(self, value: str) -> str:
        return self.decode(value)


def format_person_name(last: str | None, first: str | None) -> str:
    """PAT_NM exactly as the legacy app builds it: `LAST_NM + ", " + FIRST_NM`, or "" when the
    person row is missing. No normalization: the legacy app shows the raw columns."""
    if last is None:
        return ""
    return f"{last}{NAME_SEPARATOR}{first}"
