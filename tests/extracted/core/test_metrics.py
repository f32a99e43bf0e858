"""/__ficus/metrics: a service's requests by URL route, audit writes and outbox backlog, for ops.

Django's test client stands for the operator's scraper (it connects from 127.0.0.1); an
outsider (another address, or anything relayed by the proxy) is refused.
"""

from __future__ import annotations

import pytest
from django.db import transaction
from django.test import Client

from domain.identity import Identity
from extracted.appointments.models import AccessAudit, Outbox
from extracted.core.access_audit import record_accesses
from extracted.core.outbox import record_change
from tests.support.prometheus import check_metrics, value

pytestmark = pytest.mark.django_db(databases=["default", "appointments", "patients"])

CLINICIAN = Identity(1, "clinician", "CLIN", 0, "rid-9")


def scrape(client: Client) -> str:
    response = client.get("/__ficus/metrics")
    assert response.status_code == 200
    return response.content.decode()


def test_the_operator_sees_requests_by_route_never_by_path(client):
    route = "/api/appointments/<legacy_id:appointment_id>"
    before = value(scrape(Client()), "ficus_service_requests_total", route=route, method="GET")
    client.get("/api/appointments/424242")
    client.get("/__ficus/health")

    page = scrape(Client())
    assert value(page, "ficus_service_requests_total", route=route, method="GET") == before + 1
    assert value(page, "ficus_service_request_duration_seconds_count", route=route) >= 1
    assert value(page, "ficus_service_requests_total", route="/__ficus/health") >= 1
    assert "424242" not in page
    assert check_metrics(page) == ""


def test_audit_writes_are_counted_once_committed(django_capture_on_commit_callbacks):
    page = scrape(Client())
    before = value(page, "ficus_service_audit_writes_total", action="search")
    with django_capture_on_commit_callbacks(execute=True, using="appointments"):
        record_accesses(AccessAudit, CLINICIAN, "search", "appointment", [1, 2])
    with django_capture_on_commit_callbacks(execute=True, using="appointments") as counted:
        try:
            with transaction.atomic(using="appointments"):
                record_accesses(AccessAudit, CLINICIAN, "search", "appointment", [3])
                raise RuntimeError("rolled back, like a dry run")
        except RuntimeError:
            pass
    assert counted == []

    after = value(scrape(Client()), "ficus_service_audit_writes_total", action="search")
    assert after == before + 2


def test_the_outbox_backlog_is_what_reverse_sync_has_not_carried_yet():
    with transaction.atomic(using="appointments"):
        record_change(Outbox, aggregate="appointment", key="7", operation="upsert")
        record_change(Outbox, aggregate="appointment", key="8", operation="upsert")
    Outbox.objects.filter(key="8").update(processed_at="2026-11-16T08:00:00Z")

    page = scrape(Client())
    assert value(page, "ficus_service_outbox_backlog", service="appointments") == 1
    assert value(page, "ficus_service_outbox_oldest_age_seconds", service="appointments") >= 0


def test_an_outsider_is_refused():
    assert Client(REMOTE_ADDR="203.0.113.9").get("/__ficus/metrics").status_code == 403
    # Relayed by the proxy, even from loopback: someone outside asked for it.
    relayed = Client().get("/__ficus/metrics", HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert relayed.status_code == 403


def test_an_operations_network_can_be_allowed(monkeypatch):
    monkeypatch.setenv("FICUS_METRICS_ALLOW", "10.20.0.0/16")
    assert Client(REMOTE_ADDR="10.20.3.4").get("/__ficus/metrics").status_code == 200
    assert Client(REMOTE_ADDR="10.21.3.4").get("/__ficus/metrics").status_code == 403


def test_a_method_a_client_makes_up_is_counted_as_other(client):
    """An outsider choosing methods must not grow the operator's label set."""
    route = "/api/appointments/<legacy_id:appointment_id>"
    for method in ("BREW", "X-PROPFIND-7"):
        client.generic(method, "/api/appointments/424242")
    page = scrape(Client())
    assert value(page, "ficus_service_requests_total", route=route, method="OTHER") >= 2
    assert "BREW" not in page
    assert "PROPFIND" not in page
