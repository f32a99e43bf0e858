"""URLs of whichever services this process serves (all of them unless FICUS_SERVICE narrows it)."""

from __future__ import annotations

from django.conf import settings
from django.urls import URLPattern, URLResolver, include, path
from oauth2_provider.views import RevokeTokenView, TokenView

from extracted.core.fhir import unknown_endpoint as unknown_fhir_endpoint

# The control plane issues and revokes OAuth2 tokens for machine clients (docs/modern-api.md).
_OAUTH2: list[URLPattern | URLResolver] = [
    path("oauth2/token", TokenView.as_view(), name="oauth2-token"),
    path("oauth2/revoke", RevokeTokenView.as_view(), name="oauth2-revoke"),
]

urlpatterns: list[URLPattern | URLResolver] = [
    path("", include("extracted.core.urls")),
    path("", include("extracted.core.schema")),  # /v2/schema/ and /v2/docs/
    *(path("", include(f"extracted.{name}.urls")) for name in settings.SERVICES),
    *([path("control/v1/", include("migration_plans.urls"))] if settings.SERVES_CONTROL else []),
    *(_OAUTH2 if settings.SERVES_CONTROL else []),
    # Last: a /fhir path no service above matched gets a FHIR OperationOutcome 404.
    path("fhir/<path:rest>", unknown_fhir_endpoint),
]

# Unknown paths (and non-numeric ids) answer like the legacy app under /api (404 NO SUCH SERVICE,
# the bare 500 body), problem+json under /v2 and an OperationOutcome under /fhir
# (extracted.core.views); a body over Django's limit is handler400's.
handler400 = "extracted.core.views.bad_request"
handler404 = "extracted.core.views.not_found"
handler500 = "extracted.core.views.server_error"
