"""One canonical form for request paths, computed once, then both matched and forwarded.

A strangler-fig proxy is only as strong as the agreement between what it matched and what the
upstream will serve. If `/api/appointments%2F7` or `/api/x/../appointments/7` reached the
legacy app, which may decode or resolve them into a migrated route, a request would slip past
its route's decision. So anything two parsers could read differently is refused (the addon
answers 400 with the reason) instead of being "fixed up":

- encoded `/` or `\\` (`%2F`, `%5C`) and raw `\\`, which some servers treat as separators;
- `.` and `..` segments, raw or percent-encoded; empty segments (`//`) inside the path;
- NUL and other control characters, raw or encoded; `#`; `;` path parameters;
- malformed percent-escapes and bytes that are not strict UTF-8 after decoding (this also
  refuses overlong encodings such as `%C0%AF`).

Everything else is decoded and re-encoded the same way: unreserved characters and the safe
sub-delimiters appear as themselves, every other byte as `%XX` in upper case. `/api/%61ppt`
and `/api/appt` become one path, so they match one route and the upstream sees one spelling.
The trailing slash is kept: `/a/` and `/a` stay different paths, as they are to most servers.

Pure: standard library only, like proxy.routing.
"""

from __future__ import annotations

import re
from typing import Final

_HEX: Final = frozenset(b"0123456789abcdefABCDEF")
# RFC 3986 pchar, minus '%' (always an escape here) and ';' (refused when raw, data if encoded).
_SAFE: Final = frozenset(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,=:@"
)
# Most paths are already canonical; this lets them skip the byte-by-byte decode and re-encode.
_ALREADY_CANONICAL: Final = re.compile(rb"(?:/[A-Za-z0-9\-._~!$&'()*+,=:@]*)+")
_ENCODE: Final = tuple(chr(b) if b in _SAFE else f"%{b:02X}" for b in range(256))


class PathError(ValueError):
    """The path is ambiguous or malformed; the message is a reason safe to show the client."""


def split_target(target: bytes) -> tuple[bytes, bytes | None]:
    """Split an origin-form request target into its path and its query (None if no '?')."""
    path, sep, query = target.partition(b"?")
    return path, (query if sep else None)


def canonicalize_path(raw: str | bytes) -> str:
    """The canonical form of a request path (no query), or PathError with the reason."""
    data = raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else raw
    if not data.startswith(b"/"):
        raise PathError("the request target is not an absolute path")
    if _ALREADY_CANONICAL.fullmatch(data):
        _check_segments(data[1:].split(b"/"))
        return data.decode("ascii")
    segments = _percent_decode(data)[1:].split(b"/")
    _check_segments(segments)
    out: list[str] = []
    for segment in segments:
        try:
            segment.decode("utf-8", "strict")
        except UnicodeDecodeError:
            raise PathError("the path is not valid UTF-8 after percent-decoding") from None
        out.append("".join([_ENCODE[b] for b in segment]))
    return "/" + "/".join(out)


def _check_segments(segments: list[bytes]) -> None:
    last = len(segments) - 1
    for index, segment in enumerate(segments):
        if segment in (b".", b".."):
            raise PathError("dot segments ('.' or '..') are not allowed in paths")
        if segment == b"" and index != last:
            raise PathError("empty path segments ('//') are not allowed")


def _percent_decode(data: bytes) -> bytes:
    out = bytearray()
    i, n = 0, len(data)
    while i < n:
        b = data[i]
        if b == 0x25:  # '%'
            if i + 2 >= n or data[i + 1] not in _HEX or data[i + 2] not in _HEX:
                raise PathError("malformed percent-encoding in the path")
            b = int(data[i + 1 : i + 3], 16)
            _check_byte(b, encoded=True)
            i += 3
        else:
            _check_byte(b, encoded=False)
            i += 1
        out.append(b)
    return bytes(out)


def _check_byte(b: int, *, encoded: bool) -> None:
    if b == 0x2F and encoded:
        raise PathError("encoded slashes (%2F) are not allowed in paths")
    if b == 0x5C:
        raise PathError("backslashes are not allowed in paths")
    if b == 0x00:
        raise PathError("NUL bytes are not allowed in paths")
    if b < 0x20 or b == 0x7F:
        raise PathError("control characters are not allowed in paths")
    if encoded:
        return
    if b == 0x3B:
        raise PathError("';' path parameters are not allowed")
    if b == 0x23:
        raise PathError("'#' is not allowed in a request target")
    if b == 0x20:
        raise PathError("spaces must be percent-encoded")
