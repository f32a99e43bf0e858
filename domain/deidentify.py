"""De-identified evidence samples: identifiers replaced by deterministic keyed surrogates.

A shadow exchange's differing fields are kept as evidence for auditors, and a sample must not
carry the HIPAA Safe Harbor identifiers (45 CFR 164.514(b)(2)). `Deidentifier.sample(path,
value)` returns the value with every identifier replaced (`domain.safe_harbor` finds them, by
field name and by pattern) by a surrogate: HMAC-SHA256(key, category + the value's exact JSON
text), truncated to `DIGEST_CHARS` hex digits, in a shape an auditor can read:

    name "Jane"                 -> "Name-3f2a9c01b7de"
    date "1984-03-05"           -> "1984-**-** #3f2a9c01b7de"   (the year is allowed)
    e-mail, phone               -> "user-<h>@example.invalid", "555-<h>"
    MRN, SSN, any id            -> "ID-<h>", "SSN-<h>"
    URL "http://h/charts/12"    -> "http://host-<h>/charts/ID-<h>"
    age 93                      -> "90+ #<h>"                   (ages over 89 are aggregated)

No normalisation happens before hashing, on purpose: the comparison exists to find formatting
differences, so "1984-03-05" and "05/03/1984", "12" and 12, "Smith" and "SMITH " get different
surrogates and the difference survives; equal values get equal surrogates under one key, and
another key gives others. Values that are no identifier (status codes, booleans, counts, codes
like "active": one token of at most `CODE_CHARS` characters) pass unchanged. Everything else in
a field whose name says nothing fails closed: prose, a message, a line of HTML, a long token is
replaced whole by `Text-<h>` (names in prose have no pattern), and so is a JSON member name
that is not a code. A short lone name ("SMITH") in such a field is indistinguishable from a
code and passes: the field words of `domain.safe_harbor` are what catch those. A year that is
90 or more years ago is masked too (Safe Harbor treats it as revealing an age over 89).
Whoever holds the key can test a guess (is this surrogate Jane's?): the key is as secret as
the data. Without a key, `keyless_path` is the only thing stored: member names that may be
identifiers folded. Pure: standard library only.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Final
from urllib.parse import urlsplit, urlunsplit

from domain.safe_harbor import (
    DEFAULT_MRN_PATTERN,
    Category,
    Detector,
    field_category,
    path_category,
)

KEY_ENV = "FICUS_EVIDENCE_KEY"
MIN_KEY_BYTES = 16
DIGEST_CHARS = 12  # 48 bits: two differing values of one sample never share a surrogate
MAX_DEPTH = 24  # deeper containers are replaced whole by one surrogate
MAX_ITEMS = 200  # per list or object; the rest is folded into one surrogate
MAX_TEXT = 20_000  # characters scanned in one string; the rest is folded into one surrogate
AGE_LIMIT = 89
CODE_CHARS = 24  # a string of one token this long or shorter may be a code ("active", "A12")

_YEAR_FIRST = re.compile(r"[0-9]{4}(?![0-9])|[0-9]{4}(?=[0-9]{4})")
_YEAR_ANYWHERE = re.compile(r"(?<![0-9])[0-9]{4}(?![0-9])")
_WORDY = re.compile(r"[a-z]+(?:[_-][a-z]+)*|v[0-9]+|[$_][a-z][a-z-]*")
# FHIR resource types are path words too (`/fhir/Patient/123`).
_FHIR_TYPES = frozenset({"Patient", "Appointment", "Practitioner", "Encounter", "Observation",
                         "Bundle", "OperationOutcome", "CapabilityStatement", "Slot"})  # fmt: skip
# A quoted member (`["a.b"]`, a name that is no plain word), a selector, or the text between.
_SELECTOR_OR_TEXT = re.compile(
    r'\[(?P<quoted>"(?:[^"\\]|\\.)*")\]'
    r"|\[(?P<name>[^\]=]*)(?:=(?P<value>[^\]]*))?\]|(?P<text>[^\[]+)"
)
JSONValue = None | bool | int | float | str | list["JSONValue"] | dict[str, "JSONValue"]


def key_from_environment(environ: Mapping[str, str]) -> bytes | None:
    """The evidence key from `FICUS_EVIDENCE_KEY`, hex-encoded (`openssl rand -hex 32`); None
    when unset or empty. A value that is not hex, or shorter than 16 bytes, is refused."""
    text = environ.get(KEY_ENV, "").strip()
    if not text:
        return None
    try:
        key = bytes.fromhex(text)
    except ValueError:
        raise ValueError(f"{KEY_ENV} must be hex (e.g. `openssl rand -hex 32`).") from None
    _check_key(key)
    return key


def _check_key(key: bytes) -> None:
    if len(key) < MIN_KEY_BYTES:
        raise ValueError(
            f"The evidence key has {len(key)} bytes; it needs at least {MIN_KEY_BYTES}"
            f" ({KEY_ENV}: {2 * MIN_KEY_BYTES} hex digits or more, `openssl rand -hex 32`)."
        )


class Deidentifier:
    """Replaces identifiers by surrogates keyed with `key`. `this_year` is the year ages are
    counted from (default: today's); `mrn_pattern` the shape of an MRN in free text."""

    def __init__(
        self,
        key: bytes,
        *,
        mrn_pattern: str = DEFAULT_MRN_PATTERN,
        this_year: int | None = None,
    ) -> None:
        if not isinstance(key, bytes):
            raise TypeError("The evidence key must be bytes.")
        _check_key(key)
        self._key = key
        self._detector = Detector(mrn_pattern)
        self._oldest_shown = (this_year or datetime.now(UTC).year) - AGE_LIMIT

    def __repr__(self) -> str:  # never the key
        return "Deidentifier(<key>)"

    def sample(self, path: str, value: object) -> JSONValue:
        """The de-identified, JSON-safe form of the value at a flattened path
        (`body.name[0].family`, `header.location`, `body` for a whole non-JSON body)."""
        return self._value(path, value, 0)

    def text(self, path: str, value: str) -> str:
        """A string de-identified: whole if its field names an identifier; in a field that names
        none, a code (one short token) keeps its shape with any identifier in it replaced, and
        anything longer or with a space (prose, a message, a line of HTML) is replaced whole:
        names in prose have no pattern, so prose fails closed."""
        category = path_category(path)
        if category is None:
            return self._free(value)
        return self._whole(category, value, value)

    def _free(self, text: str) -> str:
        if _is_code(text) or self._detector.whole(text) is not None:
            return self._scan(text)
        return self._whole(Category.TEXT, text, text)

    def _value(self, path: str, value: object, depth: int) -> JSONValue:
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, bytes):
            value = value.decode("utf-8", errors="replace")
        if depth >= MAX_DEPTH and isinstance(value, dict | list | tuple):
            return f"Elided-{self._digest(Category.TEXT, _fingerprint(value))} (too deep)"
        if isinstance(value, dict):
            return self._object(path, value, depth)
        if isinstance(value, list | tuple):
            return self._list(path, list(value), depth)
        if isinstance(value, float) and not math.isfinite(value):
            value = str(value)
        if isinstance(value, int | float):
            category = path_category(path)
            if category is None or (category is Category.AGE and value <= AGE_LIMIT):
                return value
            return self._whole(category, value, str(value))
        return self.text(path, value if isinstance(value, str) else str(value))

    def _object(self, path: str, value: dict[object, object], depth: int) -> JSONValue:
        items = list(value.items())
        out: dict[str, JSONValue] = {}
        for key, item in items[:MAX_ITEMS]:
            name = str(key)
            out[self._free(name)] = self._value(f"{path}.{name}" if path else name, item, depth + 1)
        if len(items) > MAX_ITEMS:
            rest = dict(items[MAX_ITEMS:])
            digest = self._digest(Category.TEXT, _fingerprint(rest))
            out["(elided)"] = f"Elided-{digest} ({len(rest)} more keys)"
        return out

    def _list(self, path: str, value: list[object], depth: int) -> JSONValue:
        out = [
            self._value(f"{path}[{n}]", item, depth + 1) for n, item in enumerate(value[:MAX_ITEMS])
        ]
        if len(value) > MAX_ITEMS:
            rest = value[MAX_ITEMS:]
            digest = self._digest(Category.TEXT, _fingerprint(rest))
            out.append(f"Elided-{digest} ({len(rest)} more items)")
        return out

    def _scan(self, text: str) -> str:
        head, tail = _cut(text)
        parts, position = [], 0
        for start, end, category in self._detector.find(head):
            found = head[start:end]
            parts += [head[position:start], self._whole(category, found, found)]
            position = end
        parts.append(head[position:])
        if tail:
            digest = self._digest(Category.TEXT, _fingerprint(tail))
            parts.append(f" Elided-{digest} ({len(tail)} more chars)")
        return "".join(parts)

    def _whole(self, field: Category, value: object, text: str) -> str:
        """One identifier's surrogate: of the shape its text has, else of its field's."""
        exact = _fingerprint(value)
        shape = self._detector.whole(text) if isinstance(value, str) else None
        category = shape or field
        h = self._digest(category, exact)
        if category is Category.DATE:
            return self._date(text, h)
        if category is Category.URL:
            return self._url(text, h)
        if category is Category.AGE:
            age = _age(text)
            if age is None:
                return f"Age-{h}"
            return text if age <= AGE_LIMIT else f"90+ #{h}"
        return _RENDER[category].format(h=h)

    def _date(self, text: str, h: str) -> str:
        found = _YEAR_FIRST.match(text) or _YEAR_ANYWHERE.search(text)
        if found is None:
            return f"Date-{h}"
        year = int(found.group())
        if not 1800 <= year <= 2200:  # `0930` is a time, not the year 930
            return f"Date-{h}"
        masked = re.sub(r"[0-9]|[a-z]{2,}", lambda m: "*" * len(m.group()), text, flags=re.I)
        start, end = found.span()
        if year < self._oldest_shown:  # more than 89 years ago: the year shows an age over 89
            return f"{masked} #{h} 90y+"
        return f"{masked[:start]}{found.group()}{masked[end:]} #{h}"

    def _url(self, text: str, h: str) -> str:
        """The URL's shape with its host, id-like path segments, query values and fragment
        replaced: auditors see `/fhir/Patient/ID-<h>`, never the id."""
        try:
            parts = urlsplit(text)
        except ValueError:
            return f"URL-{h}"
        # urlsplit drops spaces, tabs and an empty "?": a shape that is not the whole text would
        # hide a difference. `urn:...`, `mailto:...` have no shape worth keeping.
        if urlunsplit(parts) != text or (parts.scheme and not parts.netloc):
            return f"URL-{h}"
        out = ""
        if parts.netloc:
            out = f"{parts.scheme}://host-{self._digest(Category.URL, _fingerprint(parts.netloc))}"
        out += "/".join(self._segment(s) for s in parts.path.split("/"))
        if parts.query:
            out += "?" + "&".join(self._query_item(item) for item in parts.query.split("&"))
        if parts.fragment:
            out += f"#{self._id(parts.fragment)}"
        return out

    def _segment(self, segment: str) -> str:
        if not segment or _WORDY.fullmatch(segment) or segment in _FHIR_TYPES:
            return segment
        return self._id(segment)

    def _query_item(self, item: str) -> str:
        """A parameter's name is kept if it is a word, its value never (`?family=Smith`)."""
        name, equals, value = item.partition("=")
        return f"{self._segment(name)}{equals}{self._id(value) if value else ''}"

    def _id(self, text: str) -> str:
        return f"ID-{self._digest(Category.ID, _fingerprint(text))}"

    def path(self, path: str) -> str:
        """A flattened path fit to store beside its sample: selector values (`[id=7]`) and
        identifiers used as keys (`body.byEmail.jane@example.org`) replaced. A quoted member
        (`body.byEmail["jane@example.org"]`: a name that is no plain word) is replaced whole:
        a key that is no word is as likely an identifier as not, and names have no pattern."""
        return _SELECTOR_OR_TEXT.sub(self._path_part, path)

    def _path_part(self, match: re.Match[str]) -> str:
        if (quoted := match.group("quoted")) is not None:
            member = json.loads(quoted)
            return f'["{self._whole(Category.TEXT, member, member)}"]'
        if match.group("text") is not None:
            return self._scan(match.group("text"))
        name, value = match.group("name"), match.group("value")
        if value is None:
            return match.group()  # `[0]`: an index
        category = field_category(name)
        try:
            parsed: object = json.loads(value)  # `[id=7]` is the number 7 of the sample
        except ValueError:
            parsed = value
        if category is None:
            return f"[{name}={self._scan(value)}]"
        return f"[{name}={self._whole(category, parsed, value)}]"

    def _digest(self, category: Category, exact: str) -> str:
        message = f"{category.value}\x00{exact}".encode("utf-8", errors="surrogatepass")
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()[:DIGEST_CHARS]


_RENDER = {
    Category.NAME: "Name-{h}",
    Category.SSN: "SSN-{h}",
    Category.ID: "ID-{h}",
    Category.PHONE: "555-{h}",
    Category.EMAIL: "user-{h}@example.invalid",
    Category.ADDRESS: "Addr-{h}",
    Category.IP: "ip-{h}",
    Category.TEXT: "Text-{h}",
    Category.DATE: "Date-{h}",
    Category.URL: "URL-{h}",
    Category.AGE: "Age-{h}",
}


def _fingerprint(value: object) -> str:
    """The exact text a surrogate is computed from: JSON, so "12" and 12 stay apart."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def _age(text: str) -> float | None:
    try:
        age = float(text)
    except ValueError:
        return None
    return age if math.isfinite(age) else None


MEMBER: Final = "<member>"
_PLAIN_MEMBER = re.compile(r"[A-Za-z_$][A-Za-z0-9_$-]*")
_LONG_DIGITS = re.compile(r"[0-9]{4}")
# Ficus's own field names (`<body not compared>`, `<more>`): a JSON member is never bare so.
_MARKER = re.compile(r"<[a-z ]+>")
_DETECTOR: Final = Detector()


def keyless_path(path: str, detector: Detector = _DETECTOR) -> str:
    """A flattened path fit to store when there is no key to make surrogates with: every
    quoted member (`body.byEmail["jane@x.org"]`, `body["Jane Smith"]`) and every bare member
    that looks like an identifier (`body.M0001234`, `body.12345678`) is folded into `<member>`,
    and selector values (`[id=7]`) into `[id=<member>]`. Only plain words and indexes stay."""
    return _SELECTOR_OR_TEXT.sub(lambda match: _keyless_part(match, detector), path)


def _keyless_part(match: re.Match[str], detector: Detector) -> str:
    if match.group("quoted") is not None:
        return f'["{MEMBER}"]'
    if (text := match.group("text")) is not None:
        return ".".join(_keyless_member(m, detector) for m in text.split("."))
    if match.group("value") is None:
        return match.group()  # `[0]`: an index
    return f"[{match.group('name')}={MEMBER}]"


def _keyless_member(member: str, detector: Detector) -> str:
    if not member or _MARKER.fullmatch(member):
        return member
    plain = _PLAIN_MEMBER.fullmatch(member) and not _LONG_DIGITS.search(member)
    return member if plain and not any(detector.find(member)) else MEMBER


def _is_code(text: str) -> bool:
    """One short token: a status, a code, a number as text. Whitespace or length says prose."""
    return len(text) <= CODE_CHARS and not any(c.isspace() for c in text)


def _cut(text: str) -> tuple[str, str]:
    """The part of a long string that is scanned, cut at a space so no identifier is split."""
    if len(text) <= MAX_TEXT:
        return text, ""
    cut = text.rfind(" ", 0, MAX_TEXT) + 1 or MAX_TEXT
    return text[:cut], text[cut:]
