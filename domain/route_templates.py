"""Route templates: `/api/appointments/{id:int}` compiled into segments (pure).

Each segment is a literal or one whole parameter of type `int` (ASCII digits) or `str` (any one
non-empty segment; `{name}` means `{name:str}`). A template that cannot be compiled raises
`TemplateError` quoting the offending segment, which the plan parser turns into a located error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# RFC 3986 pchar minus '%' (no encoded literals) and ';' (path parameters are refused upstream
# of here), so a literal is already in the canonical form that proxy.canonical_path produces.
_LITERAL_RE = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,=:@]+")


class ParamType(StrEnum):
    INT = "int"
    STR = "str"


class TemplateError(ValueError):
    """A path template that cannot be compiled; the message quotes the offending segment."""


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    type: ParamType


# A segment is a literal string or a parameter; the shape key replaces names by types.
Segment = str | Param
ShapeKey = tuple[str | ParamType, ...]


@dataclass(frozen=True, slots=True)
class Template:
    text: str
    segments: tuple[Segment, ...]

    @property
    def key(self) -> ShapeKey:
        """Templates with equal keys match exactly the same paths: they overlap."""
        return tuple(s.type if isinstance(s, Param) else s for s in self.segments)


def parse_template(text: str) -> Template:
    """Compile `/a/{id:int}/b` into segments, or raise TemplateError naming the bad segment."""
    if not text.startswith("/"):
        raise TemplateError(f"{text!r} must start with '/'")
    parts = text[1:].split("/")
    segments: list[Segment] = []
    names: set[str] = set()
    for index, part in enumerate(parts):
        if part == "":
            if index == len(parts) - 1:
                segments.append("")  # a trailing slash (or the root "/") is a literal
                continue
            raise TemplateError(f"{text!r} has an empty segment ('//')")
        if "{" in part or "}" in part:
            param = _parse_param(part)
            if param.name in names:
                raise TemplateError(f"{text!r} uses the parameter name {param.name!r} twice")
            names.add(param.name)
            segments.append(param)
        elif part in (".", ".."):
            raise TemplateError(f"{part!r} is a dot segment, which no canonical path contains")
        elif not _LITERAL_RE.fullmatch(part):
            raise TemplateError(
                f"{part!r} contains characters a template literal may not use "
                "(letters, digits and -._~!$&'()*+,=:@ only; no '%', ';' or spaces)"
            )
        else:
            segments.append(part)
    return Template(text=text, segments=tuple(segments))


def _parse_param(part: str) -> Param:
    if not (part.startswith("{") and part.endswith("}")) or part.count("{") != 1:
        raise TemplateError(f"{part!r} mixes a parameter with text; a parameter is a whole segment")
    name, _, type_name = part[1:-1].partition(":")
    if not _NAME_RE.fullmatch(name):
        raise TemplateError(f"{part!r} needs a parameter name (letters, digits, '_')")
    try:
        param_type = ParamType(type_name or ParamType.STR)
    except ValueError:
        raise TemplateError(
            f"{part!r} has an unknown parameter type {type_name!r} (use int or str)"
        ) from None
    return Param(name=name, type=param_type)
