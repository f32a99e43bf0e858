"""Ficus's own endpoints under /__ficus/, a prefix no legacy URL uses."""

from __future__ import annotations

from django.urls import URLPattern, path

from extracted.core import static_assets, views

urlpatterns: list[URLPattern] = [
    path("__ficus/health", views.health, name="ficus-health"),
    *static_assets.urlpatterns,
]
