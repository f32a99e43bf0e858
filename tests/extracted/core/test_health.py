"""/__ficus/health: what launchers and tests wait on. No identity needed, no data returned."""

from __future__ import annotations

import pytest


def test_it_answers_without_identity_and_names_the_services(client, settings):
    response = client.get("/__ficus/health")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "services": list(settings.SERVICES)}
    assert "appointments" in response.json()["services"]
    assert response["Cache-Control"] == "no-store"


@pytest.mark.parametrize("method", ["post", "delete"])
def test_it_is_read_only(client, method):
    assert getattr(client, method)("/__ficus/health").status_code == 405
