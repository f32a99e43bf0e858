"""Which face of a service a path belongs to, so every answer there is in that face's format.

A service answers three kinds of client: the legacy front end (`/api/...`, the legacy error
shape `{"ERR", "CODE"}`), modern clients (`/v2/...`, RFC 9457 problem+json) and FHIR clients
(`/fhir/...`, OperationOutcome); the control plane's process answers operators' tools
(`/control/...`, JSON `{"reason"}`, as migration_plans/api.py refuses). Django's own answers
(an unmatched path, a body too large, an unexpected failure) happen before or outside any view,
so the handlers in views.py ask here which format applies. Pure: a path in, a face out.
"""

from __future__ import annotations

import enum

__all__ = ["Face", "face_of"]


class Face(enum.Enum):
    LEGACY = "legacy"
    MODERN = "v2"
    FHIR = "fhir"
    CONTROL = "control"
    OTHER = "other"


_PREFIXES = (
    ("api", Face.LEGACY),
    ("v2", Face.MODERN),
    ("fhir", Face.FHIR),
    ("control", Face.CONTROL),
)


def face_of(path: str) -> Face:
    """`/api` and `/api/...` are the legacy face (the legacy dispatcher's own test), and so on."""
    for prefix, face in _PREFIXES:
        if path == f"/{prefix}" or path.startswith(f"/{prefix}/"):
            return face
    return Face.OTHER
