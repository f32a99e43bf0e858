"""URLs of whichever services this process serves (all of them unless FICUS_SERVICE narrows it)."""

from __future__ import annotations

from django.conf import settings
from django.urls import URLPattern, URLResolver, include, path

urlpatterns: list[URLPattern | URLResolver] = [
    path("", include("extracted.core.urls")),
    *(path("", include(f"extracted.{name}.urls")) for name in settings.SERVICES),
]

# Unknown paths (and non-numeric ids) answer like the legacy app: 404 NO SUCH SERVICE under /api,
# and an unexpected failure gets the legacy app's bare 500 body.
handler404 = "extracted.core.views.not_found"
handler500 = "extracted.core.views.server_error"
