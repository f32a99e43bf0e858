"""`/control/v1/` URLs of the control-plane API (included by extracted/urls.py)."""

from __future__ import annotations

from django.urls import URLPattern, path

from migration_plans import api, schema

app_name = "control"
urlpatterns: list[URLPattern] = [
    path("routes", api.RoutesView.as_view(), name="routes"),
    path("features/<slug:feature>", api.FeatureView.as_view(), name="feature"),
    path("features/<slug:feature>/history", api.HistoryView.as_view(), name="history"),
    path("features/<slug:feature>/evidence", api.EvidenceView.as_view(), name="evidence"),
    path("features/<slug:feature>/advance", api.AdvanceView.as_view(), name="advance"),
    path("features/<slug:feature>/rollback", api.RollbackView.as_view(), name="rollback"),
    path("features/<slug:feature>/autopilot", api.AutopilotView.as_view(), name="autopilot"),
    path(
        "features/<slug:feature>/autopilot/stop",
        api.AutopilotStopView.as_view(),
        name="autopilot-stop",
    ),
    path("audit/records", api.AuditRecordsView.as_view(), name="audit-records"),
    path("audit/verify", api.AuditVerifyView.as_view(), name="audit-verify"),
    *schema.urlpatterns,  # /control/v1/schema: this API's OpenAPI document
]
