"""The registry of features (the checked-in plans) and everything that lists features agree.

What derives its list from the registry (settings, runservice, capture, sync, the demo, the
Makefile, the services' independence contract) is checked to do so here, so a feature that one
of them misses fails this test."""

from __future__ import annotations

import configparser
import importlib
import subprocess
import sys
from pathlib import Path

from django.conf import settings

from demo.launcher import Ports, Stack, StackConfig
from domain.plan_reader import PLAN_SUFFIX
from domain.plans import load_plans
from extracted.core.management.commands.runservice import DEFAULT_PORTS
from legacy_adapter.capture import CAPTURED_TABLES
from legacy_adapter.features import FEATURES, feature_source
from legacy_adapter.schema import LegacyBase
from migration_plans.feature_registry import (
    REGISTRY_PLANS_DIR,
    database_urls,
    feature,
    feature_names,
    features,
    legacy_tables,
)
from tests.support.import_contracts import FeatureServicesIndependence

REPO = Path(__file__).resolve().parents[2]


def test_the_registry_is_the_checked_in_plans():
    plans = load_plans(REGISTRY_PLANS_DIR, environ={})
    assert feature_names() == tuple(sorted(plan.feature for plan in plans))
    assert {path.stem for path in REGISTRY_PLANS_DIR.glob(f"*{PLAN_SUFFIX}")} == set(
        feature_names()
    )
    for plan in plans:
        assert feature(plan.feature).legacy_tables == plan.legacy_tables


def test_each_feature_has_its_service_app_and_its_mapping():
    for found in features():
        assert importlib.import_module(found.app_label).__name__ == found.app_label
        assert importlib.import_module(found.mapping_module).__name__ == found.mapping_module
        # The sync wiring, by convention (legacy_adapter/features.py): the mapping's source,
        # and the service app's own sync target.
        assert callable(importlib.import_module(found.mapping_module).source)
        target = importlib.import_module(f"{found.app_label}.sync_target")
        assert callable(target.sync_target)


def test_settings_install_and_route_each_feature_of_the_registry():
    assert settings.ALL_SERVICES == feature_names()
    for found in features():
        if found.name in settings.SERVICES:
            assert found.app_label in settings.INSTALLED_APPS
            assert found.database_alias in settings.DATABASES
    service_apps = {app for app in settings.INSTALLED_APPS if app.startswith("extracted.")}
    assert service_apps - {"extracted.core"} == {
        found.app_label for found in features() if found.name in settings.SERVICES
    }


def test_runservice_serves_each_feature_on_its_plans_port():
    assert {name: port for name, port in DEFAULT_PORTS.items() if name != "control"} == {
        found.name: found.default_port for found in features()
    }


def test_capture_and_sync_take_the_tables_of_the_plans():
    assert tuple(table.name for table in CAPTURED_TABLES) == legacy_tables()
    assert all(table in LegacyBase.metadata.tables for table in legacy_tables())
    assert FEATURES == feature_names()
    for found in features():
        # Each sync source consumes a table its plan owns (the third copy of the one fact).
        assert feature_source(found.name).table in found.legacy_tables


def test_the_demo_runs_a_service_and_a_database_per_feature(tmp_path: Path):
    stack = Stack(StackConfig(var_dir=tmp_path, ports=Ports()))
    names = [name for name, _argv, _health in stack.commands()]
    for found in features():
        assert found.name in names
        assert found.database_url_env in stack.env
        assert found.upstream_env in stack.env


def test_the_independence_contract_reads_its_services_from_the_registry():
    config = configparser.ConfigParser()
    config.read(REPO / "setup.cfg")
    contract = config["importlinter:contract:services-independent"]
    assert contract["type"] == FeatureServicesIndependence.type_name
    assert "modules" not in contract  # nothing listed by hand
    built = FeatureServicesIndependence("services", {}, {})
    assert {str(expression) for expression in built.modules} == {  # type: ignore[attr-defined]
        found.app_label for found in features()
    }


def test_the_makefile_gives_each_service_its_database_on_postgresql():
    makefile = (REPO / "Makefile").read_text()
    assert "feature_registry database-urls $(PG_URL)" in makefile
    assert "FICUS_DB_APPOINTMENTS_URL" not in makefile  # no feature is listed by hand
    urls = database_urls("postgresql://postgres@127.0.0.1:5432/")
    assert urls == [
        f"{found.database_url_env}=postgresql://postgres@127.0.0.1:5432/ficus_{found.database_alias}"
        for found in features()
    ]


def test_the_registry_prints_what_scripts_need():
    done = subprocess.run(
        [sys.executable, "-m", "migration_plans.feature_registry", "names"],
        capture_output=True, text=True, check=True, cwd=REPO,
    )  # fmt: skip
    assert done.stdout.split() == list(feature_names())
    refused = subprocess.run(
        [sys.executable, "-m", "migration_plans.feature_registry", "bogus"],
        capture_output=True, text=True, cwd=REPO,
    )  # fmt: skip
    assert refused.returncode == 2
    assert "usage:" in refused.stderr
