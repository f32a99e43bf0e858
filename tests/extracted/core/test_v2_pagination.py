"""/v2 lists are paged by number, with a total and relative links; bad paging is a named 400."""

from __future__ import annotations

import json

import pytest

from tests.extracted.core.v2_views import NUMBERS
from tests.extracted.identities import KEY, headers_for

pytestmark = [pytest.mark.urls("tests.extracted.core.v2_views")]


@pytest.fixture(autouse=True)
def identity_key(settings):
    settings.FICUS_IDENTITY_KEY = KEY


def get(client, query=""):
    return client.get(f"/v2/numbers{query}", headers=headers_for("clinician"))


def test_the_first_page_has_the_default_size_the_total_and_a_relative_next_link(client):
    body = json.loads(get(client).content)

    assert body["count"] == len(NUMBERS)
    assert body["results"] == NUMBERS[:50]
    assert body["next"] == "/v2/numbers?page=2"
    assert body["previous"] is None


def test_the_links_keep_the_other_query_parameters(client):
    body = json.loads(get(client, "?page_size=30&page=2").content)

    assert body["results"] == NUMBERS[30:60]
    assert body["next"] == "/v2/numbers?page=3&page_size=30"  # keys sorted, as DRF writes them
    assert body["previous"] == "/v2/numbers?page_size=30"


def test_the_last_page_has_the_rest_and_no_next_link(client):
    body = json.loads(get(client, "?page=3").content)

    assert body["results"] == NUMBERS[100:]
    assert body["next"] is None
    assert body["previous"] == "/v2/numbers?page=2"


def test_the_largest_page_size_is_allowed(client):
    body = json.loads(get(client, "?page_size=200").content)

    assert body["results"] == NUMBERS


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("?page=0", "page"),
        ("?page=abc", "page"),
        ("?page=-1", "page"),
        ("?page=4", "page"),
        ("?page_size=0", "page_size"),
        ("?page_size=201", "page_size"),
        ("?page_size=ten", "page_size"),
    ],
)
def test_bad_paging_is_a_400_naming_the_parameter(client, query, field):
    response = get(client, query)

    assert response.status_code == 400
    errors = json.loads(response.content)["errors"]
    assert [e["field"] for e in errors] == [field]
