"""The registry of features: which exist, and where each one's parts live, read from the plans.

A feature is declared by its plan file in the checked-in plan directory (`migration_plans/
plans/<feature>.yaml`); everything else that needs the list of features (Django's installed
apps and databases, `runservice`, change capture, the sync wiring, the demo launcher) derives
it from here, and tests/migration_plans/test_feature_registry.py checks what cannot derive it
(setup.cfg's independence contract, the Makefile) against it. Adding a feature means its plan,
its service app `extracted.<feature>` and its mapping `legacy_adapter.mapping.<feature>`.

The registry reads the checked-in plans, never `FICUS_PLANS_DIR`: that setting says how a
deployment migrates (phases, upstreams); which features the code has is a fact of the code.
They are parsed with an empty environment, so a deployment's upstream overrides can never
change (or break) the list. Pure: the plan parser only, no framework.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

from domain.plans import load_plans, upstream_env_var

REGISTRY_PLANS_DIR = Path(__file__).resolve().parent / "plans"


@dataclass(frozen=True, slots=True)
class Feature:
    name: str
    legacy_tables: tuple[str, ...]  # the legacy tables the plan owns: change capture's list
    default_port: int  # the port of the plan's first upstream instance (the demo's port)
    upstream_env: str  # the variable that overrides the plan's upstream instances
    # The FHIR resource types its `faces:` serve (`/fhir/<Type>`): the SMART scopes' resources.
    fhir_types: tuple[str, ...] = ()

    @property
    def app_label(self) -> str:
        """The Django app of the feature's service (its INSTALLED_APPS entry)."""
        return f"extracted.{self.name}"

    @property
    def mapping_module(self) -> str:
        """The pure legacy row <-> record mapping of the feature."""
        return f"legacy_adapter.mapping.{self.name}"

    @property
    def database_alias(self) -> str:
        """The Django database alias of the service (the router keeps the app on it)."""
        return self.name

    @property
    def database_url_env(self) -> str:
        """The environment variable that names the service's database."""
        return f"FICUS_DB_{self.name.upper()}_URL"


@cache
def features(directory: Path = REGISTRY_PLANS_DIR) -> tuple[Feature, ...]:
    """Every feature of `directory`'s plans, in name order (a bad plan raises its PlanError)."""
    plans = sorted(load_plans(directory, environ={}), key=lambda plan: plan.feature)
    return tuple(
        Feature(
            name=plan.feature,
            legacy_tables=plan.legacy_tables,
            default_port=_port(plan.upstream.instances[0]),
            upstream_env=upstream_env_var(plan.upstream.name),
            fhir_types=tuple(f.split("/")[2] for f in plan.faces if f.startswith("/fhir/")),
        )
        for plan in plans
    )


def feature_names(directory: Path = REGISTRY_PLANS_DIR) -> tuple[str, ...]:
    return tuple(feature.name for feature in features(directory))


def feature(name: str, directory: Path = REGISTRY_PLANS_DIR) -> Feature:
    for found in features(directory):
        if found.name == name:
            return found
    raise KeyError(name)


def legacy_tables(directory: Path = REGISTRY_PLANS_DIR) -> tuple[str, ...]:
    """Every legacy table some plan owns, in the plans' order (no table is owned twice)."""
    return tuple(table for found in features(directory) for table in found.legacy_tables)


def fhir_types(directory: Path = REGISTRY_PLANS_DIR) -> tuple[str, ...]:
    """Every FHIR resource type some plan's faces serve, in the plans' order."""
    return tuple(kind for found in features(directory) for kind in found.fhir_types)


def _port(url: str) -> int:
    parts = urlsplit(url)
    return parts.port or (443 if parts.scheme == "https" else 80)


def database_urls(base_url: str, directory: Path = REGISTRY_PLANS_DIR) -> list[str]:
    """`FICUS_DB_<F>_URL=<base>/ficus_<alias>` for every feature: each service's database on
    one server (what `make test-databases` runs the services' tests on)."""
    base = base_url.rstrip("/")
    return [f"{f.database_url_env}={base}/ficus_{f.database_alias}" for f in features(directory)]


def main(argv: Sequence[str]) -> int:
    """`python -m migration_plans.feature_registry names|database-urls BASE_URL`, for the
    Makefile and scripts, which would otherwise list the features by hand."""
    if list(argv) == ["names"]:
        print("\n".join(feature_names()))
        return 0
    if len(argv) == 2 and argv[0] == "database-urls":
        print("\n".join(database_urls(argv[1])))
        return 0
    print(
        "usage: python -m migration_plans.feature_registry names | database-urls BASE_URL",
        file=sys.stderr,
    )
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
