"""The /fhir views' shared parts: `FHIRViewMixin` and the OpenAPI description of every /fhir
view (`FHIRAutoSchema`: a FHIR JSON answer, its OperationOutcomes, `_format`, paging).

`extracted.core.fhir` holds what the views do (rendering, errors, search parameters, bundles);
this module, how they are put together and documented.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, inline_serializer
from rest_framework import serializers
from rest_framework.renderers import BaseRenderer
from rest_framework.response import Response
from rest_framework.schemas.inspectors import ViewInspector

from extracted.core.fhir import (
    DEFAULT_COUNT,
    FHIR_MEDIA_TYPE,
    FORMAT_VALUES,
    MAX_COUNT,
    MAX_OFFSET,
    FHIRJSONRenderer,
    PlainJSONRenderer,
    fhir_exception_handler,
)
from extracted.core.v2 import V2ViewMixin

__all__ = [
    "DAY_PATTERN",
    "FORMAT_PARAMETER",
    "OUTCOME_SCHEMA",
    "PAGING_PARAMETERS",
    "REFERENCE_ID_PATTERN",
    "FHIRAutoSchema",
    "FHIRViewMixin",
]

# Schema only: the OperationOutcome every /fhir error is (operation_outcome above).
OUTCOME_SCHEMA = inline_serializer(
    "OperationOutcome",
    fields={
        "resourceType": serializers.ChoiceField(choices=["OperationOutcome"]),
        "issue": inline_serializer(
            "OperationOutcomeIssue",
            fields={
                "severity": serializers.ChoiceField(choices=["fatal", "error", "warning"]),
                "code": serializers.CharField(help_text="FHIR IssueType."),
                "diagnostics": serializers.CharField(),
                "expression": serializers.ListField(
                    child=serializers.CharField(), required=False, help_text="The parameter."
                ),
            },
            many=True,
        ),
    },
)
_OUTCOME_WHEN = {
    400: "A bad, unknown or empty search parameter, or a `_format` other than JSON.",
    401: "No valid identity header.",
    403: "The identity's role may not read this resource.",
    404: "No such resource.",
}
# `_format` is accepted by every interaction; searches also page with `_count` and `_offset`.
FORMAT_PARAMETER = OpenApiParameter(
    "_format", str, enum=list(FORMAT_VALUES), description="Only JSON is served."
)
PAGING_PARAMETERS = [
    OpenApiParameter(
        "_count",
        {"type": "integer", "minimum": 1, "maximum": MAX_COUNT},
        description=f"Page size, 1-{MAX_COUNT} (default {DEFAULT_COUNT}).",
    ),
    OpenApiParameter(
        "_offset",
        {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET},
        description="Matches to skip.",
    ),
    FORMAT_PARAMETER,
]
# FHIR ids in references: ASCII digits only (extracted.core.numbers refuses other digits).
REFERENCE_ID_PATTERN = "[0-9]{1,10}"
# A day that exists in every year (1-9999); 29 February is left out, as a leap day is
# accepted only in leap years and a pattern cannot count years.
DAY_PATTERN = (
    "([1-9][0-9]{3}|0[1-9][0-9]{2}|00[1-9][0-9]|000[1-9])-"
    "((0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])|(0[13-9]|1[0-2])-(29|30)|(0[13578]|1[02])-31)"
)


class FHIRAutoSchema(AutoSchema):
    """OpenAPI defaults for /fhir views: a FHIR JSON object answer, its OperationOutcomes,
    `_format`, and `fhir_<type>_<interaction>` ids.

    FHIR resources are not DRF serializers, so without this every /fhir view would need its
    own `extend_schema` just to keep drf-spectacular from failing to guess one. A view's own
    `extend_schema` (parameters, summary) still applies on top.
    """

    def get_response_serializers(self) -> Any:
        statuses = (400, 401, 403, 404) if "{" in self.path else (400, 401, 403)
        return {
            (200, FHIR_MEDIA_TYPE): OpenApiTypes.OBJECT,
            **{
                (s, FHIR_MEDIA_TYPE): OpenApiResponse(OUTCOME_SCHEMA, description=_OUTCOME_WHEN[s])
                for s in statuses
            },
        }

    def get_override_parameters(self) -> list[Any]:
        # A read's only parameter; a search lists PAGING_PARAMETERS (with `_format`) itself.
        own = list(super().get_override_parameters())
        return [FORMAT_PARAMETER, *own] if "{" in self.path else own

    def get_operation_id(self) -> str:
        # /fhir/Patient → search, /fhir/Patient/{patient_id} → read.
        resource_type = self.path.split("/")[2].lower()
        interaction = "read" if "{" in self.path else "search"
        return f"fhir_{resource_type}_{interaction}"


class FHIRViewMixin(V2ViewMixin):
    """Put first in a /fhir view's bases; declare `read_roles` as for /v2."""

    schema: ViewInspector | None = FHIRAutoSchema()

    renderer_classes: Sequence[type[BaseRenderer]] = [FHIRJSONRenderer, PlainJSONRenderer]
    pagination_class = None  # searchsets page with _count/_offset (see searchset_bundle)

    def get_exception_handler(self) -> Callable[[Exception, Mapping[str, Any]], Response | None]:
        return fhir_exception_handler
