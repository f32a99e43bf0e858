"""Reading YAML like a compiler: typed values out of composed nodes, every problem located.

A plan is reviewed like code, so a mistake in it is reported like a compiler would report it:
`file:line: field: message`, all of them, not just the first. This module is the generic half
of that: it works on `yaml.compose` nodes (which carry line numbers) instead of the plain dicts
`yaml.safe_load` returns, accepts only YAML's standard scalar types (no tags, so a plan can
never construct objects), and turns each problem into a `PlanError` and carries on. What the
fields of a plan *are* lives in `domain.plans`; this module knows only mappings,
lists, strings, numbers and booleans.

Booleans are `true`/`false` only. YAML 1.1 (PyYAML) also reads `yes`, `on` and `off` as
booleans while YAML 1.2 editors and the JSON Schema in docs/plan.schema.json read them as
strings; refusing them keeps the parser and the editor in agreement.

Pure: PyYAML and the standard library only.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Final

import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

STR_TAG: Final = "tag:yaml.org,2002:str"
INT_TAG: Final = "tag:yaml.org,2002:int"
FLOAT_TAG: Final = "tag:yaml.org,2002:float"
BOOL_TAG: Final = "tag:yaml.org,2002:bool"


class PlanError(ValueError):
    """One problem in one plan file, located to the line and the field."""

    def __init__(self, file: str, line: int, field: str, message: str) -> None:
        super().__init__(f"{file}:{line}: {field}: {message}")
        self.file = file
        self.line = line
        self.field = field
        self.message = message


def compose(text: str, file: str) -> tuple[Node | None, list[PlanError]]:
    """The document's root node, or the syntax error located to its line."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark is not None else 0
        return None, [PlanError(file, line, "(yaml)", e.problem or str(e))]
    except yaml.YAMLError as e:
        return None, [PlanError(file, 0, "(yaml)", str(e))]
    if root is None:
        return None, [PlanError(file, 1, "(document)", "the file is empty")]
    return root, []


# A reader of one list item, for `NodeReader.unique`: the value, or None once reported.
ItemReader = Callable[[Node, str], str | None]


def line_of(node: Node) -> int:
    return int(node.start_mark.line) + 1


def kind_of(node: Node) -> str:
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    tag = str(node.tag).rsplit(":", 1)[-1]
    return {"null": "nothing (null)", "bool": "a boolean", "int": "a number"}.get(tag, tag)


def _shown_key(key_node: Node) -> str:
    """A mapping key as an error names it: plain when it reads as a field name, quoted when it
    is empty or holds spaces or controls (`"": x`), described when it is not text at all."""
    if not isinstance(key_node, ScalarNode):
        return f"({kind_of(key_node)} as a key)"
    key = str(key_node.value)
    if key and key.isprintable() and not any(c.isspace() for c in key):
        return key
    return json.dumps(key)


def _format(value: float) -> str:
    return f"{value:g}"


class NodeReader:
    """Typed accessors over composed nodes. Each records the field's line in `lines` (for
    errors found later, across files) and reports problems to `errors` instead of raising."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.errors: list[PlanError] = []
        self.lines: dict[str, int] = {}

    def fail(self, node_or_line: Node | int, field: str, message: str) -> None:
        line = node_or_line if isinstance(node_or_line, int) else line_of(node_or_line)
        self.errors.append(PlanError(self.file, line, field, message))

    def mapping(
        self,
        node: Node,
        prefix: str,
        allowed: tuple[str, ...],
        required: frozenset[str] = frozenset(),
    ) -> dict[str, Node] | None:
        """The mapping's values by key; unknown, repeated and missing keys are errors."""
        if prefix:
            self.lines.setdefault(prefix, line_of(node))
        if not isinstance(node, MappingNode):
            self.fail(node, prefix or "(document)", f"expected a mapping, got {kind_of(node)}")
            return None
        values: dict[str, Node] = {}
        first_line: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, ScalarNode) else None
            shown = _shown_key(key_node)
            name = f"{prefix}.{shown}" if prefix else shown
            if not isinstance(key, str) or key not in allowed:
                self.fail(key_node, name, f"unknown field (expected {', '.join(allowed)})")
            elif key in values:
                self.fail(key_node, name, f"is given twice (first on line {first_line[key]})")
            else:
                values[key] = value_node
                first_line[key] = line_of(key_node)
                self.lines[name] = first_line[key]  # the value's reader may refine it
        for missing in sorted(required - values.keys()):
            self.fail(node, f"{prefix}.{missing}" if prefix else missing, "is required")
        return values

    def string(self, node: Node, field: str) -> str | None:
        self.lines[field] = line_of(node)
        if not isinstance(node, ScalarNode) or node.tag != STR_TAG:
            self.fail(node, field, f"expected a string, got {kind_of(node)}")
            return None
        value = str(node.value).strip()
        if not value:
            self.fail(node, field, "must not be empty")
            return None
        return value

    def choice(self, node: Node, field: str, choices: tuple[str, ...]) -> str | None:
        value = self.string(node, field)
        if value is not None and value not in choices:
            self.fail(node, field, f"{value!r} is not one of {', '.join(choices)}")
            return None
        return value

    def items(self, node: Node, field: str) -> list[Node] | None:
        self.lines[field] = line_of(node)
        if not isinstance(node, SequenceNode):
            self.fail(node, field, f"expected a list, got {kind_of(node)}")
            return None
        return list(node.value)

    def boolean(self, node: Node, field: str) -> bool | None:
        self.lines[field] = line_of(node)
        if not isinstance(node, ScalarNode) or node.tag != BOOL_TAG:
            self.fail(node, field, f"expected true or false, got {kind_of(node)}")
            return None
        text = str(node.value).lower()
        if text not in ("true", "false"):
            # yes/no/on/off: booleans to PyYAML, strings to YAML 1.2 editors.
            self.fail(node, field, f"write true or false, not {node.value!r}")
            return None
        return text == "true"

    def number(
        self,
        node: Node,
        field: str,
        *,
        minimum: float,
        maximum: float,
        above_minimum: bool = False,
        integer: bool = False,
        unit: str = "",
        note: str = "",
    ) -> float | None:
        """A plain YAML int (or float unless `integer`) in [minimum, maximum]; with
        `above_minimum` the minimum itself is excluded."""
        self.lines[field] = line_of(node)
        tags = (INT_TAG,) if integer else (INT_TAG, FLOAT_TAG)
        what = "a whole number" if integer else "a number"
        if unit:
            what += f" of {unit}"
        if not isinstance(node, ScalarNode) or node.tag not in tags:
            self.fail(node, field, f"expected {what}, got {kind_of(node)}")
            return None
        try:
            constructor = SafeConstructor()
            if node.tag == INT_TAG:
                value = float(constructor.construct_yaml_int(node))
            else:
                value = float(constructor.construct_yaml_float(node))
        except (ConstructorError, ValueError, OverflowError):
            self.fail(node, field, f"{node.value!r} is not {what}")
            return None
        low_ok = value > minimum if above_minimum else value >= minimum
        if not math.isfinite(value) or not low_ok or value > maximum:
            low = f"greater than {_format(minimum)}, up" if above_minimum else _format(minimum)
            self.fail(
                node,
                field,
                f"{node.value!r} is out of range ({low} to {_format(maximum)}"
                f"{' ' + unit if unit else ''}{'; ' + note if note else ''})",
            )
            return None
        return value

    def whole(self, node: Node, field: str, *, minimum: int, maximum: int) -> int | None:
        value = self.number(node, field, minimum=minimum, maximum=maximum, integer=True)
        return None if value is None else int(value)

    def unique(self, node: Node, field: str, read: ItemReader) -> list[str] | None:
        """A list of distinct values, each read by `read`; a repeat is refused at its line."""
        nodes = self.items(node, field)
        if nodes is None:
            return None
        values: dict[str, int] = {}
        ok = True
        for index, item in enumerate(nodes):
            value = read(item, f"{field}[{index}]")
            if value is not None and value in values:
                self.fail(
                    item,
                    f"{field}[{index}]",
                    f"{value!r} is listed twice (first on line {values[value]})",
                )
                value = None
            if value is None:
                ok = False
            else:
                values[value] = line_of(item)
        return list(values) if ok else None

    def pairs(self, node: Node, field: str) -> list[tuple[ScalarNode, Node]] | None:
        """A mapping whose keys are data (paths, routes), not field names: repeats refused."""
        self.lines[field] = line_of(node)
        if not isinstance(node, MappingNode):
            self.fail(node, field, f"expected a mapping, got {kind_of(node)}")
            return None
        out: list[tuple[ScalarNode, Node]] = []
        first: dict[str, int] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                self.fail(key_node, field, f"expected text keys, got {kind_of(key_node)}")
                return None
            key = str(key_node.value)
            if key in first:
                self.fail(
                    key_node, f"{field}.{key}", f"is given twice (first on line {first[key]})"
                )
                return None
            first[key] = line_of(key_node)
            out.append((key_node, value_node))
        return out
