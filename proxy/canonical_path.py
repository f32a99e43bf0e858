"""One canonical form for request paths, computed once, then both matched and forwarded.

A strangler-fig proxy is only as strong as the agreement between what it matched and what the
upstream will serve. If `/api/appointments%2F7` or `/api/x/../appointments/7` reached the
legacy app, which may decode or resolve them into a migrated route, a request would slip past
its route's decision. So anything two parsers could read differently is refused (the addon
answers 400 with the reason) instead of being "fixed up":

- encoded `/` or `\\` (`%2F`, `%5C`) and raw `\\`, which some servers treat as separators;
- `.` and `..` segments, raw or percent-encoded; empty segments (`//`) inside the path;
- NUL and other control characters, raw or encoded; `#`; `;` path parameters, unless the
  caller allows them (`allow_params=True`, see below);
- malformed percent-escapes and bytes that are not strict UTF-8 after decoding (this also
  refuses overlong encodings such as `%C0%AF`);
- double-encoded `.`, `/` and `\\` (`%252e`, `%252F`, `%255c`): data to Ficus, but a dot
  segment or separator to a server that decodes twice.

Everything else is decoded and re-encoded the same way: unreserved characters and the safe
sub-delimiters appear as themselves, every other byte as `%XX` in upper case. `/api/%61ppt`
and `/api/appt` become one path, so they match one route and the upstream sees one spelling.
The trailing slash is kept: `/a/` and `/a` stay different paths, as they are to most servers.

`;` path parameters (`/a;jsessionid=1/b`): whether they are allowed depends on the route, which
is only known after routing, so the proxy canonicalizes with `allow_params=True` and refuses
afterwards unless the route's plan allows them. Then each segment's name part (before its first
raw `;`) gets every check above, so `/..;x/` is still a dot segment, as Tomcat-style servers
that strip parameters would read it; each parameter is decoded and re-encoded the same way, and
raw `;` stays raw (an encoded `%3B` stays encoded: data, not a separator). `strip_params`
gives the path without parameters, the one matched against route templates.

Pure: standard library only, like domain.routing.
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
_DOUBLE_ENCODED: Final = re.compile(rb"%(?:2[eEfF]|5[cC])")
_ENCODE: Final = tuple(chr(b) if b in _SAFE else f"%{b:02X}" for b in range(256))


class PathError(ValueError):
    """The path is ambiguous or malformed; the message is a reason safe to show the client."""


def split_target(target: bytes) -> tuple[bytes, bytes | None]:
    """Split an origin-form request target into its path and its query (None if no '?')."""
    path, sep, query = target.partition(b"?")
    return path, (query if sep else None)


def canonicalize_path(raw: str | bytes, *, allow_params: bool = False) -> str:
    """The canonical form of a request path (no query), or PathError with the reason.

    With `allow_params`, raw `;` path parameters are kept (canonicalized) instead of refused.
    """
    data = raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else raw
    if not data.startswith(b"/"):
        raise PathError("the request target is not an absolute path")
    if _ALREADY_CANONICAL.fullmatch(data):
        _check_segments(data[1:].split(b"/"))
        return data.decode("ascii")
    if allow_params and b";" in data:
        return _canonicalize_with_params(data)
    decoded = _percent_decode(data)
    if _DOUBLE_ENCODED.search(decoded):
        # `%252e` is data here, but a server that decodes twice would see a dot segment.
        raise PathError("double-encoded '.', '/' or '\\' are not allowed in paths")
    segments = decoded[1:].split(b"/")
    _check_segments(segments)
    return "/" + "/".join([_encode_segment(segment) for segment in segments])


def strip_params(path: str) -> str:
    """A canonical path without its `;` parameters: `/a;x=1/b;y` -> `/a/b`."""
    if ";" not in path:
        return path
    return "/".join([segment.partition(";")[0] for segment in path.split("/")])


def _canonicalize_with_params(data: bytes) -> str:
    names: list[bytes] = []
    params: list[list[str]] = []
    for raw_segment in data[1:].split(b"/"):
        name, sep, rest = raw_segment.partition(b";")
        names.append(name)
        params.append([_canonical_piece(p) for p in rest.split(b";")] if sep else [])
    # The names alone get every check of a path (a `..;x` segment is a dot segment); encoded
    # slashes are refused there, so the canonical names are as many segments as the raw ones.
    canonical = canonicalize_path(b"/" + b"/".join(names)).split("/")[1:]
    return "/" + "/".join(
        ";".join([name, *pieces]) for name, pieces in zip(canonical, params, strict=True)
    )


def _canonical_piece(raw: bytes) -> str:
    """One path parameter (`jsessionid=1`): decoded, checked and re-encoded like a segment."""
    decoded = _percent_decode(raw)
    if _DOUBLE_ENCODED.search(decoded):
        raise PathError("double-encoded '.', '/' or '\\' are not allowed in paths")
    return _encode_segment(decoded)


def _encode_segment(segment: bytes) -> str:
    try:
        segment.decode("utf-8", "strict")
    except UnicodeDecodeError:
        raise PathError("the path is not valid UTF-8 after percent-decoding") from None
    return "".join([_ENCODE[b] for b in segment])


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
