"""Comparing two answers to one request, field by field: what a shadowed exchange differs in.

`differing_fields(legacy, other, rules, write=...)` returns one entry per difference, named by
its flattened path (`domain.compare_paths`) with the two values. It runs off the response path
(the proxy's shadow pipeline calls it after the client has its answer), on bodies the proxy has
already bounded. `other` is the service's answer, or legacy's own second answer when the
pipeline measures noise (`domain.noise`).

What is compared:

- the status;
- the headers the rules name (`content-type` unless the plan says otherwise), values trimmed
  and repeated headers joined; a content type's case and the spaces around `;` do not count;
- a JSON body (a content type that says `json` on both sides), by flattened path: members by
  name (their order never counts), arrays by position, or by key where the plan declares the
  array's key field (`array_keys`), so a list returned in another order is no difference. A
  value's type counts (`1`, `1.0`, `"1"` and `true` all differ), a member present on one side
  only is a difference (the missing side is `ABSENT`), and so is an object where the other side
  has a list or a value (`OBJECT`, `ARRAY`); below such a difference nothing more is reported;
- any other body by its normalised bytes (line endings, trailing whitespace and trailing blank
  lines do not count), reported as one `body` difference naming the first line that differs
  and its length, never its text (`<line 12 differs, 80 bytes>`): free text cannot be
  de-identified, so no excerpt of it is ever kept.

The rules drop the plan's volatile paths (`ignored`: never compared), and in writes compare the
plan's generated values (`generated`: new ids, timestamps) by kind only: two numbers, or two
texts of the same shape (`2026-12-08T00:11:02` and `2026-12-08T09:40:57` are one shape). The
plan's accepted differences are still reported: `domain.noise` counts them as accepted.

Bounded: a JSON body deeper than `MAX_DEPTH` or with more than `MAX_NODES` values is compared
whole (one `body` difference if it differs) rather than field by field, and at most
`MAX_DIFFERENCES` differences are returned, the rest counted under `MORE`.

Pure: the standard library only.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

from domain import compare_paths as paths

MAX_DEPTH: Final = 32
MAX_NODES: Final = 10_000
MAX_DIFFERENCES: Final = 100
DEFAULT_HEADERS: Final = frozenset({"content-type"})


class Marker(str):
    """A value no JSON text decodes to (values compare by type, so `"<absent>"` is not it)."""

    __slots__ = ()


ABSENT: Final = Marker("<absent>")
OBJECT: Final = Marker("<object>")
ARRAY: Final = Marker("<array>")
# The path under which differences beyond MAX_DIFFERENCES are counted: (count, count).
MORE: Final = "<more>"


@dataclass(frozen=True, slots=True)
class Answer:
    """One side's answer, its body already bounded by the proxy."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def header(self, name: str) -> str | None:
        """The header's values, trimmed and joined (repeats are one list, RFC 9110 5.3)."""
        name = name.lower()
        values = [v.strip() for k, v in self.headers if k.lower() == name]
        return ", ".join(values) if values else None


@dataclass(frozen=True, slots=True)
class CompareRules:
    """How one route's answers are compared (per feature and route template, from the plan).

    Patterns are `domain.compare_paths` patterns (`body.items[*].updated`, `body.**.UPD_TS`)."""

    headers: frozenset[str] = DEFAULT_HEADERS  # lower-case header names compared
    # array field (`body.items`, array steps as `[*]` or left out) -> its elements' key member
    array_keys: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}), hash=False)
    ignored: frozenset[str] = frozenset()  # volatile: never compared
    generated: frozenset[str] = frozenset()  # in writes, compared by kind only
    accepted: frozenset[str] = frozenset()  # compared, then counted as accepted, never real


Differences = dict[str, tuple[object, object]]


def differing_fields(
    legacy: Answer, other: Answer, rules: CompareRules, *, write: bool
) -> Differences:
    """Flattened path -> (legacy's value, the other's value), for each difference."""
    out: Differences = {}
    if legacy.status != other.status and not paths.matches_any(rules.ignored, "status"):
        out["status"] = (legacy.status, other.status)
    for name in sorted(rules.headers):
        path = paths.header(name)
        if paths.matches_any(rules.ignored, path):
            continue
        a, b = _header_value(legacy, name), _header_value(other, name)
        if not _same(path, a, b, rules, write):
            out[path] = (ABSENT if a is None else a, ABSENT if b is None else b)
    if not paths.matches_any(rules.ignored, "body"):
        out.update(_body_differences(legacy, other, rules, write))
    return _bounded(out)


def _header_value(answer: Answer, name: str) -> str | None:
    value = answer.header(name)
    if value is not None and name.lower() == "content-type":
        # Media types and the charset are case-insensitive (RFC 9110 8.3.1).
        value = ";".join(part.strip() for part in value.lower().split(";"))
    return value


def _body_differences(
    legacy: Answer, other: Answer, rules: CompareRules, write: bool
) -> Differences:
    a, b = _json_of(legacy), _json_of(other)
    if a is _NOT_JSON and b is _NOT_JSON:
        return _text_differences(legacy.body, other.body)
    if a is _NOT_JSON or b is _NOT_JSON:
        return {"body": (_describe(legacy.body, a), _describe(other.body, b))}
    flat_a, flat_b = _flatten(a, rules), _flatten(b, rules)
    if flat_a is None or flat_b is None:
        return _whole_differences(legacy.body, a, other.body, b)
    return _leaf_differences(flat_a, flat_b, rules, write)


_NOT_JSON: Final = object()


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


def _json_of(answer: Answer) -> object:
    media = (answer.header("content-type") or "").partition(";")[0].strip().lower()
    if not (media.endswith("/json") or media.endswith("+json")):
        return _NOT_JSON
    try:
        return json.loads(answer.body, parse_constant=_reject_constant)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return _NOT_JSON


# path -> (value, parent path): the parent lets a difference hide the ones below it.
Flat = dict[str, tuple[object, str | None]]


def _flatten(value: object, rules: CompareRules) -> Flat | None:
    """Every node of a JSON value by path, or None when it is too deep or too large."""
    out: Flat = {}
    stack: list[tuple[str, str | None, object, int]] = [("body", None, value, 0)]
    while stack:
        path, parent, node, depth = stack.pop()
        if depth > MAX_DEPTH or len(out) >= MAX_NODES:
            return None
        if paths.matches_any(rules.ignored, path):
            continue
        if isinstance(node, dict):
            out[path] = (OBJECT, parent)
            stack.extend((paths.member(path, k), path, v, depth + 1) for k, v in node.items())
        elif isinstance(node, list):
            out[path] = (ARRAY, parent)
            stack.extend((child, path, v, depth + 1) for child, v in _elements(path, node, rules))
        else:
            out[path] = (node, parent)
    return out


def _elements(path: str, items: list[object], rules: CompareRules) -> list[tuple[str, object]]:
    key = _key_for(path, rules.array_keys)
    if key is not None:
        values = [_key_value(item, key) for item in items]
        keys = [v for v in values if v is not None]
        if len(keys) == len(items) and len(set(keys)) == len(keys):
            return [(paths.keyed(path, key, v), item) for v, item in zip(keys, items, strict=True)]
    # No key declared, or one that does not name every element once: by position.
    return [(paths.element(path, i), item) for i, item in enumerate(items)]


def _key_value(item: object, key: str) -> str | int | None:
    value = item.get(key) if isinstance(item, dict) else None
    return value if isinstance(value, (str, int)) and not isinstance(value, bool) else None


def _key_for(path: str, array_keys: Mapping[str, str]) -> str | None:
    if not array_keys:
        return None
    for pattern, key in array_keys.items():
        if paths.matches(pattern, path):
            return key
    return None


def _leaf_differences(a: Flat, b: Flat, rules: CompareRules, write: bool) -> Differences:
    out: Differences = {}
    for path in sorted(a.keys() | b.keys()):
        left, parent = a.get(path, (ABSENT, None))
        right, other_parent = b.get(path, (ABSENT, None))
        if _reported_above(parent, a, out) or _reported_above(other_parent, b, out):
            continue
        if not _same(path, left, right, rules, write):
            out[path] = (left, right)
    return out


def _same(path: str, a: object, b: object, rules: CompareRules, write: bool) -> bool:
    if write and paths.matches_any(rules.generated, path):
        return _kind(a) == _kind(b)
    return type(a) is type(b) and a == b


def _reported_above(parent: str | None, flat: Flat, out: Differences) -> bool:
    while parent is not None:
        if parent in out:
            return True
        parent = flat[parent][1]
    return False


def _kind(value: object) -> object:
    """What a generated value is compared by: its type, and a text's shape (digits as 9,
    letters as a, anything else kept), so a new id or a new time is not a difference."""
    if isinstance(value, Marker):
        return value
    if isinstance(value, str):
        return "".join("9" if c.isdigit() else "a" if c.isalpha() else c for c in value)
    if isinstance(value, bool) or value is None:
        return value
    return "number" if isinstance(value, (int, float)) else type(value).__name__


def _whole_differences(body_a: bytes, a: object, body_b: bytes, b: object) -> Differences:
    try:
        same = type(a) is type(b) and a == b
    except RecursionError:
        same = _normalised(body_a) == _normalised(body_b)
    return {} if same else {"body": (_describe(body_a, a), _describe(body_b, b))}


def _normalised(body: bytes) -> list[bytes]:
    lines = [line.rstrip() for line in body.replace(b"\r\n", b"\n").split(b"\n")]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def _text_differences(a: bytes, b: bytes) -> Differences:
    lines_a, lines_b = _normalised(a), _normalised(b)
    if lines_a == lines_b:
        return {}
    pairs = zip(lines_a, lines_b, strict=False)
    number = next((i for i, (x, y) in enumerate(pairs, start=1) if x != y), None)
    if number is None:  # one is the other with more lines
        number = min(len(lines_a), len(lines_b)) + 1
    return {"body": (_line(lines_a, number), _line(lines_b, number))}


def _line(lines: list[bytes], number: int) -> Marker:
    """Where a text body differs, never what it says there: a line of HTML or a log excerpt is
    free text, names in it have no pattern, and a sample of it could not be de-identified."""
    if number > len(lines):
        return Marker(f"<line {number}: absent>")
    return Marker(f"<line {number} differs, {len(lines[number - 1])} bytes>")


def _describe(body: bytes, parsed: object) -> Marker:
    kind = "not JSON" if parsed is _NOT_JSON else "JSON"
    return Marker(f"<{kind}, {len(body)} bytes>")


def _bounded(out: Differences) -> Differences:
    if len(out) <= MAX_DIFFERENCES:
        return out
    kept = dict(list(out.items())[: MAX_DIFFERENCES - 1])
    more = len(out) - len(kept)
    kept[MORE] = (more, more)
    return kept
