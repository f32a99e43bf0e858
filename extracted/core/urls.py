"""Ficus's own endpoints under /__ficus/, a prefix no legacy URL uses."""

from __future__ import annotations

from django.urls import URLPattern, path
from django.views.decorators.http import require_safe

from extracted.core import metrics, static_assets, views

urlpatterns: list[URLPattern] = [
    path("__ficus/health", views.health, name="ficus-health"),
    # Operations only (loopback or FICUS_METRICS_ALLOW, never through the proxy).
    path("__ficus/metrics", require_safe(metrics.metrics_view), name="ficus-metrics"),
    *static_assets.urlpatterns,
]
