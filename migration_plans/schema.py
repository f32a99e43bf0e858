"""The OpenAPI schema of the control plane's API: `/control/v1/schema`.

A document of its own, not part of the services' /v2/schema/ (extracted/core/schema.py keeps
/control out of that one): other clients (operators' scripts, CI), other auth (a DRF token,
`Authorization: Token KEY`), other errors (`{"reason": ...}` JSON, not problem+json). Like the
services' schema it carries no data, so it needs no token.

The bodies here are what migration_plans/api.py answers; `tests/migration_plans/
test_api_schema_conformance.py` runs schemathesis against a real control-plane process to keep
them so.
"""

from __future__ import annotations

from typing import Any

from django.urls import URLPattern, path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    inline_serializer,
)
from drf_spectacular.views import SpectacularAPIView
from rest_framework import serializers
from rest_framework.permissions import AllowAny

# (path, path_regex, method, view callback), as drf-spectacular hands endpoints to hooks.
_Endpoint = tuple[str, str, str, Any]

PREFIX = "/control/v1/"
# The largest id either database keeps (a 64-bit signed integer).
MAX_SEQ = 2**63 - 1


def only_control_plane(endpoints: list[_Endpoint], **kwargs: Any) -> list[_Endpoint]:
    """drf-spectacular PREPROCESSING_HOOKS entry: this document is /control/v1/... only."""
    return [e for e in endpoints if e[0].startswith(PREFIX) and not e[0].endswith("/schema")]


REFUSAL = inline_serializer(
    "ControlRefusal",
    fields={
        "reason": serializers.CharField(),
        "fields": serializers.DictField(required=False, help_text="400: the fields at fault."),
        "gates": serializers.ListField(
            child=serializers.DictField(), required=False, help_text="409: every gate judged."
        ),
        "evidence": serializers.DictField(required=False, help_text="409: what they judged."),
    },
)
_REFUSED_WHEN = {
    400: "Invalid parameters or body; `fields` names them.",
    401: "No token, or an unknown one.",
    403: "The token's user has no role that may do this.",
    404: "No such feature or route.",
    409: "Refused: a gate failed (`gates`, `evidence`), or nothing to change.",
    503: "The plan files cannot be read.",
}


def refusals(*statuses: int) -> dict[int, OpenApiResponse]:
    """`extend_schema(responses=...)` entries for the `{"reason"}` answers of an endpoint."""
    return {s: OpenApiResponse(REFUSAL, description=_REFUSED_WHEN[s]) for s in statuses}


def _routes() -> serializers.Serializer[Any]:
    return inline_serializer("ControlRoute", fields=_ROUTE_FIELDS, many=True)


_ROUTE_FIELDS: dict[str, serializers.Field[Any, Any, Any, Any]] = {
    "feature": serializers.CharField(),
    "route": serializers.CharField(help_text="METHOD /template"),
    "method": serializers.CharField(),
    "template": serializers.CharField(),
    "phase": serializers.CharField(),
    "weight": serializers.IntegerField(),
    "since": serializers.CharField(allow_null=True),
    "actor": serializers.CharField(allow_null=True),
}
ROUTES = inline_serializer("ControlRoutes", fields={"routes": _routes()})
FEATURE = inline_serializer(
    "ControlFeature",
    fields={
        "feature": serializers.CharField(),
        "owner": serializers.CharField(),
        "upstream": serializers.CharField(),
        "canary_writes": serializers.BooleanField(),
        "gates": serializers.DictField(child=serializers.DictField()),
        "routes": _routes(),
    },
)
HISTORY = inline_serializer(
    "ControlHistory",
    fields={
        "feature": serializers.CharField(),
        "transitions": serializers.ListField(child=serializers.DictField()),
    },
)
OUTCOME = inline_serializer(
    "ControlMove",
    fields={
        "feature": serializers.CharField(),
        "action": serializers.CharField(),
        "forced": serializers.BooleanField(),
        "changes": serializers.ListField(child=serializers.DictField()),
        "gates": serializers.ListField(child=serializers.DictField()),
        "evidence": serializers.DictField(),
        "audit_seq": serializers.IntegerField(allow_null=True),
        "generation": serializers.IntegerField(),
    },
)
AUTOPILOT = inline_serializer(
    "ControlAutopilot",
    fields={
        "feature": serializers.CharField(),
        "configured": serializers.BooleanField(help_text="the plan has an autopilot: section"),
        "stopped": serializers.BooleanField(help_text="the kill switch is on"),
        "locked": serializers.BooleanField(help_text="rolled back; a person must clear it"),
        "lock_reason": serializers.CharField(allow_blank=True),
        "failures": serializers.IntegerField(help_text="consecutive failed checks"),
        "rollback_pending": serializers.BooleanField(help_text="waiting for reverse sync"),
        "last_decision": serializers.CharField(allow_null=True),
        "last_reason": serializers.CharField(allow_null=True),
        "last_at": serializers.CharField(allow_null=True),
        "changed_by": serializers.CharField(allow_null=True),
        "message": serializers.CharField(required=False, help_text="what a stop did"),
    },
)
EVIDENCE = inline_serializer(
    "ControlEvidence",
    fields={
        "feature": serializers.CharField(),
        "routes": serializers.ListField(
            child=serializers.DictField(),
            help_text="Per route: compared, noise_compared, raw/noise/real_diff_rate, and the "
            "differing fields with verdict and de-identified samples.",
        ),
    },
)
ROUTE_FILTER = OpenApiParameter(
    "route",
    OpenApiTypes.STR,
    description='Only this route, "METHOD /template".',
)
AUDIT_RECORDS = inline_serializer(
    "ControlAuditRecords",
    fields={"records": serializers.ListField(child=serializers.DictField())},
)
AUDIT_VERIFY = inline_serializer(
    "ControlAuditVerify",
    fields={
        "ok": serializers.BooleanField(),
        "records": serializers.IntegerField(),
        "signatures_checked": serializers.BooleanField(),
        "broken": serializers.DictField(required=False),
    },
)
FEATURE_FILTER = OpenApiParameter(
    "feature",
    OpenApiTypes.STR,
    description="Only this feature.",
    examples=[OpenApiExample("a shipped feature", value="appointments")],
)
FEATURE_PATH = OpenApiParameter(
    "feature",
    {"type": "string", "pattern": "^[-a-zA-Z0-9_]+$"},
    OpenApiParameter.PATH,
    description="A feature of the plan files.",
    examples=[OpenApiExample("a shipped feature", value="appointments")],
)


def audit_page_parameters(max_page: int) -> list[OpenApiParameter]:
    return [
        OpenApiParameter(
            "after",
            {"type": "integer", "minimum": 0, "maximum": MAX_SEQ},
            description="Records after this sequence number (default 0).",
        ),
        OpenApiParameter(
            "limit",
            {"type": "integer", "minimum": 1, "maximum": max_page},
            description=f"At most this many records, 1-{max_page} (default 100).",
        ),
    ]


urlpatterns: list[URLPattern] = [
    path(
        "schema",
        SpectacularAPIView.as_view(
            authentication_classes=[],
            permission_classes=[AllowAny],
            custom_settings={
                "TITLE": "Ficus control plane",
                "DESCRIPTION": (
                    "Route phases, their history and the audit chain (docs/control-plane.md). "
                    "Every call needs `Authorization: Token KEY` of an operator (reads and "
                    'changes) or an auditor (reads only); refusals are JSON `{"reason"}`.'
                ),
                "VERSION": "1",
                "SCHEMA_PATH_PREFIX": r"/control/v1",
                "PREPROCESSING_HOOKS": ["migration_plans.schema.only_control_plane"],
                "POSTPROCESSING_HOOKS": [
                    "drf_spectacular.hooks.postprocess_schema_enums",
                    "extracted.core.gunicorn_refusals.documented_in_every_operation",
                ],
            },
        ),
        name="schema",
    ),
]
