"""The services' tests run as if an operator had migrated the features' writes: the plans say
so (tests.support.ownership), so the services own every record and accept writes. Tests of
the refusal point FICUS_PLANS_DIR at plans with the writes elsewhere."""

from __future__ import annotations

import pytest

from migration_plans.ownership_state import forget
from tests.extracted.identities import ProxiedClient
from tests.support.ownership import plans_with_writes_in


@pytest.fixture(autouse=True)
def service_owns_the_writes(settings, tmp_path_factory):
    settings.FICUS_PLANS_DIR = plans_with_writes_in(
        tmp_path_factory.mktemp("plans-migrated"), "migrated"
    )
    yield settings.FICUS_PLANS_DIR
    forget()


@pytest.fixture
def client() -> ProxiedClient:
    """Django's test client as the proxy's stand-in: it signs each identity for its request."""
    return ProxiedClient()
