"""Fixtures of the appointments service's tests: the seeded legacy/service pair (world.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from extracted.core.legacy_db import reset_legacy_engines
from tests.extracted.appointments.world import ZONE, World, build_golden
from tests.extracted.identities import KEY


@pytest.fixture(scope="session")
def golden_legacy_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_golden(tmp_path_factory.mktemp("golden") / "legacy.sqlite3")


@pytest.fixture
def world(golden_legacy_db, tmp_path, settings, client):
    settings.FICUS_IDENTITY_KEY = KEY
    settings.FICUS_HOSPITAL_TZ = ZONE
    built = World(golden_legacy_db, tmp_path, client)
    settings.LEGACY_DATABASE_URL = built.service_legacy_url
    built.copy_forward()
    yield built
    built.close()
    reset_legacy_engines()
