from __future__ import annotations

import pytest

from tests.legacy_adapter.faults.rig import Rig, build_template


@pytest.fixture(scope="session")
def service_template(tmp_path_factory):
    return build_template(tmp_path_factory.mktemp("sync-service-template"))


@pytest.fixture
def rig(tmp_path, service_template):
    built = Rig(tmp_path, service_template)
    built.install()
    yield built
    built.close()
