"""DryRunMiddleware on its own: which requests it runs, which it refuses, and on which database."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from extracted.core.dry_run import _aliases_for, is_dry_run
from tests.extracted.identities import KEY, OTHER_KEY, dry_run_header, headers_for


def dry_run(request_id="rid-test", key=KEY):
    return dry_run_header(request_id, key=key)


@pytest.fixture(autouse=True)
def key(settings):
    settings.FICUS_IDENTITY_KEY = KEY


def test_a_request_without_the_header_is_not_a_dry_run():
    assert not is_dry_run(RequestFactory().get("/__ficus/health"))


@pytest.mark.django_db(databases="__all__")
def test_a_valid_token_runs_the_request(client):
    # Not a service's view, so every service database is wrapped and rolled back.
    response = client.get("/__ficus/health", headers={**headers_for("operator"), **dry_run()})

    assert response.status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param(lambda: {**headers_for("operator"), **dry_run(key=OTHER_KEY)}, id="forged"),
        pytest.param(lambda: {**headers_for("operator"), **dry_run("rid-x")}, id="other-rid"),
        pytest.param(lambda: dry_run(), id="no-identity"),
    ],
)
def test_an_outsider_token_is_refused_before_any_view_runs(client, headers):
    response = client.get("/__ficus/health", headers=headers())

    assert response.status_code == 403
    assert response.content == b'{"ERR": "ACCESS DENIED", "CODE": 102}'
    assert response["Cache-Control"] == "no-store"


def test_the_transaction_is_opened_on_the_answering_service_database_only(settings):
    factory = RequestFactory()

    assert _aliases_for(factory.post("/api/appointments")) == ("appointments",)
    assert _aliases_for(factory.post("/api/nothing-here")) == tuple(settings.SERVICES)
