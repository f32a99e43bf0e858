"""Every face behind one facade: /v2, FHIR and /control/v1 through the proxy, links included.

Real processes on loopback (`stack`): the clinician logs in to legacy through the proxy and
reads the modern faces with that session (the identity bridge); every link a /v2 page or a
FHIR Bundle contains is followed, through the proxy, and must answer 200 with the resources it
names. The outsider is refused in each face's format, and the auditor reaches the control
plane's API through the proxy with its token.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
import pytest

from demo.launcher import Stack
from tests.e2e.clients import logged_in, wait_for_log_lines

pytestmark = pytest.mark.e2e


def _on_the_proxy(stack: Stack, url: str) -> str:
    """A link's target, asserting it names the proxy (absolute) or is relative to it."""
    parts = urlsplit(url)
    if parts.netloc:
        assert f"{parts.scheme}://{parts.netloc}" == stack.config.proxy_url, url
    return parts.path + (f"?{parts.query}" if parts.query else "")


def test_the_clinician_follows_every_link_of_a_fhir_bundle_through_the_proxy(stack: Stack):
    with logged_in(stack.config.proxy_url, "clinician") as clinician:
        first = clinician.get("/fhir/Patient", params={"_count": 5})
        assert first.status_code == 200, first.text
        assert first.headers["content-type"].startswith("application/fhir+json")
        bundle = first.json()
        followed = 0
        for link in bundle["link"]:
            page = clinician.get(_on_the_proxy(stack, link["url"]))
            assert page.status_code == 200, (link, page.text)
            assert page.json()["resourceType"] == "Bundle"
            followed += 1
        for entry in bundle["entry"]:
            resource = clinician.get(_on_the_proxy(stack, entry["fullUrl"]))
            assert resource.status_code == 200, (entry["fullUrl"], resource.text)
            assert resource.json()["id"] == entry["resource"]["id"]
            followed += 1
        assert followed >= 7  # self, first, next and every entry of the page


def test_the_clinician_pages_through_v2_by_its_links(stack: Stack):
    with logged_in(stack.config.proxy_url, "clinician") as clinician:
        page = clinician.get("/v2/patients", params={"page_size": 30})
        seen: list[int] = []
        pages = 0
        while True:
            assert page.status_code == 200, page.text
            body = page.json()
            seen += [p["id"] for p in body["results"]]
            pages += 1
            if body["next"] is None:
                break
            back = clinician.get(_on_the_proxy(stack, body["next"]))
            page = back
        assert pages >= 3
        assert len(seen) == len(set(seen)) == body["count"]
        previous = clinician.get(_on_the_proxy(stack, body["previous"]))
        assert previous.status_code == 200
        detail = clinician.get(f"/v2/patients/{seen[0]}")
        assert detail.status_code == 200
        assert detail.json()["id"] == seen[0]
    templates = {e.get("route") for e in wait_for_log_lines(stack, 1)}
    assert "/v2/patients/**" in templates
    assert not any(t and t.startswith("/v2/patients/") and t[13:].isdigit() for t in templates)


def test_a_v2_write_while_legacy_owns_the_records_is_refused_in_problem_json(stack: Stack):
    with logged_in(stack.config.proxy_url, "clinician") as clinician:
        some = clinician.get("/v2/patients", params={"page_size": 1}).json()["results"][0]
        refused = clinician.patch(f"/v2/patients/{some['id']}", json={"phone": "555-0100"})
    # The patients' writes are still legacy's (their PUT route is in `legacy`): the service's
    # write guard, the one ownership rule, refuses; nothing is written anywhere.
    assert refused.status_code == 409, refused.text
    assert refused.headers["content-type"] == "application/problem+json"


def test_the_outsider_is_refused_in_each_faces_format(stack: Stack):
    with httpx.Client(base_url=stack.config.proxy_url, timeout=10) as outsider:
        v2 = outsider.get("/v2/patients")
        fhir = outsider.get("/fhir/Patient")
        control = outsider.get("/control/v1/routes")
    assert v2.status_code == 401
    assert v2.headers["content-type"] == "application/problem+json"
    assert fhir.status_code == 401
    assert fhir.json()["resourceType"] == "OperationOutcome"
    assert control.status_code in (401, 403)


def test_the_auditor_reads_the_control_plane_through_the_proxy(stack: Stack):
    token = stack.token_path("auditor").read_text().strip()
    with httpx.Client(base_url=stack.config.proxy_url, timeout=10) as auditor:
        headers = {"Authorization": f"Token {token}"}
        routes = auditor.get("/control/v1/routes", params={"feature": "patients"}, headers=headers)
        advance = auditor.post(
            "/control/v1/features/patients/advance", json={"reason": "try"}, headers=headers
        )
    assert routes.status_code == 200, routes.text
    assert advance.status_code == 403  # an auditor reads everything and changes nothing
