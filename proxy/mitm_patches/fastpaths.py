"""Faster equivalents of three mitmproxy 11.0.2 helpers its HTTP layers call on every request.

Each replacement returns exactly what the original returns, for every input
(tests/proxy/test_fastpaths.py checks them side by side, and fails if mitmproxy's originals
change); what differs is the work done to get there:

- **`Headers.get`, `Headers.__contains__`, `Headers.get_all`.** mitmproxy's HTTP/1 layer asks a
  message's headers about a dozen questions per request (Transfer-Encoding, Content-Length,
  Connection, Expect, Host, ...). Each question went through `Mapping.get`, then
  `MultiDict.__getitem__`, then `Headers.get_all`, then `MultiDict.get_all`, which called the
  static `_kconv` once per field: five Python frames and a call per header, per question.
  Here it is one list comprehension over the raw fields.
- **`_Option.current`** (what `ctx.options.name` returns). mitmproxy deep-copies the value on
  every read, twice for an option left at its default, so that no caller can change a list
  option in place. A str, number, bool or None cannot be changed in place, and `deepcopy`
  returns the very same object for them; only mutable values are still copied.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, Final

from mitmproxy import http, optmanager
from mitmproxy.utils import strutils

_IMMUTABLE: Final = frozenset({str, bytes, int, float, bool, type(None)})
_UNSET: Final = optmanager.unset


def headers_get_all(self: http.Headers, name: str | bytes) -> list[str]:
    if type(name) is not bytes:
        name = strutils.always_bytes(name, "utf-8", "surrogateescape")
    key = name.lower()
    return [v.decode("utf-8", "surrogateescape") for k, v in self.fields if k.lower() == key]


def headers_get(self: http.Headers, name: str | bytes, default: Any = None) -> Any:
    values = headers_get_all(self, name)
    return ", ".join(values) if values else default


def headers_contains(self: http.Headers, name: str | bytes) -> bool:
    return bool(headers_get_all(self, name))


def option_current(self: Any) -> Any:
    value = self.value
    if value is _UNSET:
        value = self._default
    return value if type(value) in _IMMUTABLE else copy.deepcopy(value)


ORIGINALS: Final[dict[str, Callable[..., Any]]] = {
    "Headers.get_all": http.Headers.get_all,
    "Headers.get": http.Headers.get,
    "Headers.__contains__": http.Headers.__contains__,
    "_Option.current": optmanager._Option.current,
}


def install() -> None:
    http.Headers.get_all = headers_get_all  # type: ignore[method-assign]
    http.Headers.get = headers_get  # type: ignore[method-assign,assignment]
    http.Headers.__contains__ = headers_contains  # type: ignore[method-assign,assignment]
    optmanager._Option.current = option_current  # type: ignore[method-assign]
