"""Absolute links name the address the client used, but only when the proxy vouches for it.

The proxy's signed identity proves a request came through it (and that the proxy, not the
client, set X-Forwarded-Host/Proto); without one, forwarded headers are ignored.
"""

from __future__ import annotations

import pytest

from tests.extracted.appointments.modern_data import seeded  # noqa: F401
from tests.extracted.identities import headers_for

pytestmark = [
    pytest.mark.django_db(databases=["default", "appointments"]),
    pytest.mark.usefixtures("seeded"),
]

FORWARDED = {"X-Forwarded-Host": "localhost:8080", "X-Forwarded-Proto": "https"}


def full_urls(response) -> list[str]:
    assert response.status_code == 200, response.content
    body = response.json()
    return [e["fullUrl"] for e in body["entry"]] + [link["url"] for link in body["link"]]


def test_a_clinicians_links_through_the_proxy_name_the_proxys_address(client):
    headers = {**headers_for("clinician"), **FORWARDED}
    urls = full_urls(client.get("/fhir/Appointment?patient=17", headers=headers))
    assert urls
    assert all(u.startswith("https://localhost:8080/fhir/") for u in urls), urls


def test_an_outsiders_forwarded_host_is_ignored(client):
    # No identity: the request did not come through the proxy, so its claims are not believed.
    response = client.get("/fhir/Appointment?patient=17", headers=FORWARDED)
    assert response.status_code == 401
    assert "localhost:8080" not in response.content.decode()


def test_a_forwarded_host_with_two_hops_is_not_believed(client):
    headers = {**headers_for("clinician"), "X-Forwarded-Host": "evil.example, localhost:8080"}
    urls = full_urls(client.get("/fhir/Appointment?patient=17", headers=headers))
    assert not any("evil.example" in u for u in urls)
