"""URLs of the appointments service. Legacy paths have no trailing slash, exactly as legacy."""

from __future__ import annotations

from django.urls import URLPattern, path

from extracted.appointments import legacy_views

urlpatterns: list[URLPattern] = [
    path(
        "api/appointments/<legacy_id:appointment_id>",
        legacy_views.appointment_detail,
        name="legacy-appointment-detail",
    ),
]
