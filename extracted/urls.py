"""URLs of whichever services this process serves (all of them unless FICUS_SERVICE narrows it)."""

from __future__ import annotations

from django.conf import settings
from django.urls import URLPattern, URLResolver, include, path

urlpatterns: list[URLPattern | URLResolver] = [
    path("", include("extracted.core.urls")),
    *(path("", include(f"extracted.{name}.urls")) for name in settings.SERVICES),
]
