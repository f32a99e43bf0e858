"""URLs of the appointments service. Legacy paths have no trailing slash, exactly as legacy.

The /v2 API and FHIR routes live in `urls_v2.py` (included when present); the auditors' query
comes first so `access-audit` is never taken for an appointment id.
"""

from __future__ import annotations

from importlib.util import find_spec

from django.urls import URLPattern, URLResolver, include, path

from extracted.appointments import audit_views, legacy_views

urlpatterns: list[URLPattern | URLResolver] = [
    path(
        "api/appointments",
        legacy_views.appointments_collection,
        name="legacy-appointments",
    ),
    path(
        "api/appointments/<legacy_id:appointment_id>",
        legacy_views.appointment_detail,
        name="legacy-appointment-detail",
    ),
    path(
        "api/appointments/<legacy_id:appointment_id>/cancel",
        legacy_views.appointment_cancel,
        name="legacy-appointment-cancel",
    ),
    path(
        "v2/appointments/access-audit",
        audit_views.AccessAuditView.as_view(),
        name="appointments-access-audit",
    ),
]

if find_spec("extracted.appointments.urls_v2") is not None:
    urlpatterns.append(path("", include("extracted.appointments.urls_v2")))
