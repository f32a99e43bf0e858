"""An import-linter contract type that reads the feature registry, so no contract lists the
features by hand: the services' feature apps are independent of each other, for every feature
the plan files declare (`migration_plans.feature_registry`). setup.cfg registers it."""

from __future__ import annotations

from typing import Any

from importlinter.contracts.independence import IndependenceContract

from migration_plans.feature_registry import features


class FeatureServicesIndependence(IndependenceContract):
    """`independence` over `extracted.<feature>` for each feature of the registry."""

    type_name = "feature_services_independence"

    def __init__(
        self, name: str, session_options: dict[str, Any], contract_options: dict[str, Any]
    ) -> None:
        modules = [feature.app_label for feature in features()]
        super().__init__(name, session_options, {**contract_options, "modules": modules})
