"""The OpenAPI schema of the modern faces, and its browsable docs: /v2/schema/ and /v2/docs/.

drf-spectacular builds the schema from the DRF views this process serves (legacy faces are
plain Django views and stay out of it), so `FICUS_SERVICE=appointments` documents just that
service. Both endpoints carry no PHI and need no identity: they describe, they never read data.

The docs page is drf-spectacular's Swagger UI *split* view: its start-up script is a URL of its
own (`/v2/docs/?script=`) rather than inline, so the page's Content-Security-Policy can forbid
inline scripts (extracted/core/security_headers.py). Swagger UI's files are the pinned copy in
drf-spectacular-sidecar (SWAGGER_UI_DIST = "SIDECAR"), served by the process itself
(extracted/core/static_assets.py): no CDN, and a hospital network without internet access gets
a working page (docs/modern-api.md).

Only /v2/... and /fhir/... endpoints are documented (`only_modern_faces`, a preprocessing hook):
the control plane's DRF API is an operators' tool with its own auth, not a service face.

Importing this module also teaches drf-spectacular about the identity header (the extension
below), which it would otherwise warn it cannot describe.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.urls import URLPattern, path
from drf_spectacular.extensions import (
    OpenApiAuthenticationExtension,
    OpenApiSerializerExtension,
    OpenApiSerializerFieldExtension,
)
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiExample, OpenApiParameter
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework import serializers

from domain.identity import IDENTITY_HEADER
from domain.smart_scopes import needed
from extracted.core.v2_auth import AUTH_SCHEME
from migration_plans.oauth_scopes import all_scopes

# (path, path_regex, method, view callback), as drf-spectacular hands endpoints to hooks.
_Endpoint = tuple[str, str, str, Callable[..., Any]]


class IdentityAuthenticationScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = "extracted.core.v2_auth.IdentityAuthentication"
    name = AUTH_SCHEME

    def get_security_definition(self, auto_schema: AutoSchema) -> dict[str, Any]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": IDENTITY_HEADER,
            "description": (
                "Added by the Ficus proxy after it validates the legacy session; HMAC-signed. "
                "Clients never send it themselves (the proxy strips client X-Ficus-* headers)."
            ),
        }


class BearerAuthenticationScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = "extracted.core.bearer.BearerAuthentication"
    name = "oauth2"

    def get_security_definition(self, auto_schema: AutoSchema) -> dict[str, Any]:
        return {
            "type": "oauth2",
            "description": (
                "Machine clients: a bearer token from the control plane's /oauth2/token "
                "(through the proxy), with SMART v1 scopes such as system/Patient.read."
            ),
            "flows": {
                "clientCredentials": {"tokenUrl": "/oauth2/token", "scopes": all_scopes()},
            },
        }

    def get_security_requirement(
        self, auto_schema: AutoSchema
    ) -> dict[str, list[Any]] | list[dict[str, list[Any]]]:
        # The narrowest scope that admits this operation; none: no token is admitted here.
        resource = str(getattr(auto_schema.view, "resource_type", ""))
        if not resource:
            return []
        write = auto_schema.method not in ("GET", "HEAD", "OPTIONS")
        return {self.name: [needed(resource, write=write)]}


class BodySchema(OpenApiSerializerExtension):  # type: ignore[no-untyped-call]
    """A /v2 write body as extracted.core.v2_input.BodySerializer reads it: no other field is
    accepted, and a change must name at least one."""

    target_class = "extracted.core.v2_input.BodySerializer"
    match_subclasses = True

    def map_serializer(self, auto_schema: AutoSchema, direction: str) -> dict[str, Any]:
        schema: dict[str, Any] = auto_schema._map_serializer(  # type: ignore[no-untyped-call]
            self.target, direction, bypass_extensions=True
        )
        schema["additionalProperties"] = False
        if getattr(self.target, "at_least_one_field", False):
            schema["minProperties"] = 1
        return schema


# DRF's CharField refuses NUL characters and (unless allow_blank) text that is blank once
# stripped; drf-spectacular says neither. Python's and JSON Schema's `\s` agree on the
# whitespace strip() removes, bar a few control characters.
_NOT_BLANK = "^[^\\u0000]*[^\\s\\u0000][^\\u0000]*$"


class CharFieldSchema(OpenApiSerializerFieldExtension):  # type: ignore[no-untyped-call]
    """A DRF CharField's text as it accepts it: no NUL, and not blank unless allowed. A
    RegexField keeps its own pattern (the services' patterns allow neither)."""

    target_class = "rest_framework.fields.CharField"
    match_subclasses = True

    def map_serializer_field(self, auto_schema: AutoSchema, direction: str) -> dict[str, Any]:
        schema: dict[str, Any] = auto_schema._map_serializer_field(  # type: ignore[no-untyped-call]
            self.target, direction, bypass_extensions=True
        )
        # A RegexField's own pattern is added after this, by drf-spectacular.
        own_pattern = isinstance(self.target, serializers.RegexField)
        if direction == "request" and schema.get("type") == "string" and not own_pattern:
            if self.target.allow_blank:
                # Not as a `pattern`: with allow_blank drf-spectacular would wrap it in a oneOf
                # that "" matches twice, i.e. not at all.
                schema["not"] = {"pattern": "\\u0000"}
            else:
                schema["pattern"] = _NOT_BLANK
        return schema


def record_id(name: str) -> OpenApiParameter:
    """A record's id in a path, with an example: schemathesis sends the schema's examples too
    (tests/support/openapi_fuzz.py), so the success answers are checked, not only refusals."""
    return OpenApiParameter(
        name,
        {"type": "integer"},
        OpenApiParameter.PATH,
        description="The record's id (the legacy key).",
        examples=[OpenApiExample("the first record", value=1)],
    )


# Paths of the services' modern faces. Other DRF views in the project (the control plane's
# /control/v1 API, with its own token auth) are not part of this document.
MODERN_PREFIXES = ("/v2/", "/fhir/")


def only_modern_faces(endpoints: list[_Endpoint], **kwargs: Any) -> list[_Endpoint]:
    """drf-spectacular PREPROCESSING_HOOKS entry: keep /v2/... and /fhir/... endpoints only."""
    return [endpoint for endpoint in endpoints if endpoint[0].startswith(MODERN_PREFIXES)]


def bodies_that_must_name_a_field_are_required(result: dict[str, Any], **kwargs: Any) -> Any:
    """drf-spectacular POSTPROCESSING_HOOKS entry: a body whose schema needs a property
    (`minProperties`, BodySchema) is itself required; drf-spectacular deems a PATCH body
    optional because every field in it is."""
    components = result.get("components", {}).get("schemas", {})
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            body = operation.get("requestBody")
            if body is None:
                continue
            for content in body.get("content", {}).values():
                name = content.get("schema", {}).get("$ref", "").rpartition("/")[2]
                if components.get(name, {}).get("minProperties"):
                    body["required"] = True
    return result


urlpatterns: list[URLPattern] = [
    path("v2/schema/", SpectacularAPIView.as_view(), name="v2-schema"),
    path("v2/docs/", SpectacularSwaggerSplitView.as_view(url_name="v2-schema"), name="v2-docs"),
]
