"""URLs of the patients service: the legacy face (no trailing slash, as legacy), /v2 and FHIR."""

from __future__ import annotations

from django.urls import URLPattern, path

from extracted.patients import api_v2, fhir, legacy_views

urlpatterns: list[URLPattern] = [
    path("api/patients", legacy_views.patient_search, name="legacy-patient-search"),
    path(
        "api/patients/<legacy_id:patient_id>",
        legacy_views.patient_detail,
        name="legacy-patient-detail",
    ),
    path("v2/patients", api_v2.PatientList.as_view(), name="v2-patient-list"),
    path("v2/patients/access-audit", api_v2.AccessAuditList.as_view(), name="v2-patient-audit"),
    path("v2/patients/<int:patient_id>", api_v2.PatientDetail.as_view(), name="v2-patient-detail"),
    path("fhir/Patient", fhir.PatientSearch.as_view(), name="fhir-patient-search"),
    path("fhir/Patient/<int:patient_id>", fhir.PatientRead.as_view(), name="fhir-patient-read"),
]
