"""The paths that name a part of an answer, and the patterns a plan writes to pick some (pure).

A difference between two answers is named by a flattened path:

- `status`; `header.<lower-case name>` (`header.content-type`); `body` for a whole body;
- into a JSON body, one step per member and per array element: `body.name.family`,
  `body.items[3].code` (by position), `body.items[id=7].code` (by key, where the plan declares
  the array's key field; a text key is quoted, `[id="A7"]`, so 7 and "7" stay apart). A member
  whose name is not a plain word is quoted as JSON: `body["a.b"]`.

A path's *field* is the path with every array step generalised to `[*]`
(`body.items[*].code`): the differences of many exchanges are counted by field, so the count is
bounded by the shape of the answers, not by their ids.

A plan's *pattern* names fields. It is a full path (`status`, `header.etag`, `body.UPD_TS`) whose
steps may be `*` (any one member; `UPD_*` globs one) and `**` (any number of members). Array
steps are transparent to patterns: `body.items[*].code` and `body.items.code` mean the same
thing, and both match `body.items[3].code` and `body.items[id=7].code`.
"""

from __future__ import annotations

import json
import re
from fnmatch import fnmatchcase
from functools import lru_cache
from itertools import accumulate
from operator import or_
from typing import Final

ROOTS: Final = ("status", "header", "body")
# A member written bare in a path (and an array key a plan names); anything else is quoted.
MEMBER_RE: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")
# One step of a path: `.name`, `["quoted"]`, or an array step `[3]` / `[id=7]` / `[*]`.
_STEP_RE: Final = re.compile(
    r'\.(?P<bare>[^.\[]+)|\[(?P<quoted>"(?:[^"\\]|\\.)*")\]|\[(?P<array>(?:[^\]"]|"(?:[^"\\]|\\.)*")*)\]'
)
# A pattern as a plan writes it: dotted steps, each a word with globs, or `**`; `[*]` allowed.
PATTERN_RE: Final = re.compile(
    r"status|header\.[a-z0-9!#$%&'*+\-.^_`|~]+|body(\[\*\])?(\.(\*\*|[A-Za-z0-9_\-*?]+)(\[\*\])?)*"
)


def member(path: str, name: str) -> str:
    """The path of member `name` of the object at `path`."""
    return f"{path}.{name}" if MEMBER_RE.fullmatch(name) else f"{path}[{json.dumps(name)}]"


def element(path: str, index: int) -> str:
    return f"{path}[{index}]"


def keyed(path: str, key: str, value: str | int) -> str:
    shown = json.dumps(value) if isinstance(value, str) else str(value)
    return f"{path}[{key}={shown}]"


def header(name: str) -> str:
    return f"header.{name.lower()}"


def steps(path: str) -> tuple[str, ...]:
    """The member steps of a path, array steps left out (the root is the first step)."""
    head, _, rest = _split_root(path)
    if head == "header":  # a header name may hold dots: it is one step
        return (head, rest)
    out = [head]
    for match in _STEP_RE.finditer(path, len(head)):
        if match["bare"] is not None:
            out.append(match["bare"])
        elif match["quoted"] is not None:
            out.append(str(json.loads(match["quoted"])))
    return tuple(out)


def field_of(path: str) -> str:
    """The path with every array step generalised to `[*]`: what differences are counted by."""
    head, _, _ = _split_root(path)
    out = [head]
    for match in _STEP_RE.finditer(path, len(head)):
        out.append("[*]" if match["array"] is not None else match[0])
    return "".join(out)


def _split_root(path: str) -> tuple[str, str, str]:
    for i, char in enumerate(path):
        if char in ".[":
            return path[:i], char, path[i + 1 :]
    return path, "", ""


@lru_cache(maxsize=4096)
def _pattern_steps(pattern: str) -> tuple[str, ...]:
    # A pattern is read like a path: `*` and `**` are bare steps, `[*]` an array step.
    return steps(pattern)


def matches(pattern: str, path: str) -> bool:
    """Whether a plan's pattern names this path (or field)."""
    return _match(_pattern_steps(pattern), steps(path))


def matches_any(patterns: frozenset[str], path: str) -> bool:
    if not patterns:
        return False
    path_steps = steps(path)
    return any(_match(_pattern_steps(p), path_steps) for p in patterns)


def _match(pattern: tuple[str, ...], path: tuple[str, ...]) -> bool:
    # Glob over steps in one pass per pattern step (no backtracking, so `**.**.x` stays
    # linear): reached[j] says the pattern so far matches the first j steps of the path.
    reached = [True] + [False] * len(path)
    for step in pattern:
        if step == "**":
            reached = list(accumulate(reached, or_))
        else:
            reached = [False] + [
                reached[j] and fnmatchcase(path[j], step) for j in range(len(path))
            ]
        if not any(reached):
            return False
    return reached[-1]
