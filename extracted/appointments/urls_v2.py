"""URLs of the appointments service's modern faces: /v2 (DRF) and FHIR R4 (read and search).

No trailing slashes, like the legacy paths. Ids use the legacy converter, so an absurdly long
id is simply "not found" (a problem or OperationOutcome), never a framework error page.
"""

from __future__ import annotations

from django.urls import URLPattern, path

from extracted.appointments import api_v2, fhir

urlpatterns: list[URLPattern] = [
    path("v2/appointments", api_v2.AppointmentList.as_view(), name="v2-appointment-list"),
    path(
        "v2/appointments/<legacy_id:appointment_id>",
        api_v2.AppointmentDetail.as_view(),
        name="v2-appointment-detail",
    ),
    path(
        "v2/appointments/<legacy_id:appointment_id>/cancel",
        api_v2.AppointmentCancel.as_view(),
        name="v2-appointment-cancel",
    ),
    path("fhir/Appointment", fhir.AppointmentSearch.as_view(), name="fhir-appointment-search"),
    path(
        "fhir/Appointment/<legacy_id:appointment_id>",
        fhir.AppointmentRead.as_view(),
        name="fhir-appointment-read",
    ),
]
