"""Reading a plan's `faces:` list: the modern prefixes its upstream serves (pure, located).

    faces: [/v2/charts, /fhir/Observation]

Each item is a literal path prefix under `/v2/` or `/fhir/` (`domain.faces.face_problem` says
what a face may be); a repeat is refused at its line. Two plans naming the same face are refused
when the plans are checked together (`domain.plans`).
"""

from __future__ import annotations

from typing import Final

from yaml.nodes import Node

from domain.faces import face_problem
from domain.plan_yaml import NodeReader

PREFIX: Final = "faces"


def read_faces(reader: NodeReader, node: Node) -> tuple[str, ...] | None:
    """The faces, or None after reporting every problem found in the list."""

    def face(item: Node, field: str) -> str | None:
        value = reader.string(item, field)
        if value is None:
            return None
        if (problem := face_problem(value)) is not None:
            reader.fail(item, field, problem)
            return None
        return value

    faces = reader.unique(node, PREFIX, face)
    return None if faces is None else tuple(faces)
