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
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from extracted.core.v2_auth import AUTH_SCHEME
from proxy.identity import IDENTITY_HEADER

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


# Paths of the services' modern faces. Other DRF views in the project (the control plane's
# /control/v1 API, with its own token auth) are not part of this document.
MODERN_PREFIXES = ("/v2/", "/fhir/")


def only_modern_faces(endpoints: list[_Endpoint], **kwargs: Any) -> list[_Endpoint]:
    """drf-spectacular PREPROCESSING_HOOKS entry: keep /v2/... and /fhir/... endpoints only."""
    return [endpoint for endpoint in endpoints if endpoint[0].startswith(MODERN_PREFIXES)]


urlpatterns: list[URLPattern] = [
    path("v2/schema/", SpectacularAPIView.as_view(), name="v2-schema"),
    path("v2/docs/", SpectacularSwaggerSplitView.as_view(url_name="v2-schema"), name="v2-docs"),
]
