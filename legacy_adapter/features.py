"""The features sync knows, each as its legacy source and its service target (Django side).

The composition root for the `sync` command, the evidence provider and the tests: a feature
whose service app is not installed in this process is refused with a clear message.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps
from django.conf import settings

from legacy_adapter.sources import LegacySource, appointments_source, patients_source
from legacy_adapter.targets import ServiceTarget, appointments_target, patients_target

FEATURES = ("appointments", "patients")


class UnknownFeatureError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class FeatureSync:
    source: LegacySource
    target: ServiceTarget

    @property
    def name(self) -> str:
        return self.source.feature


def feature_source(name: str) -> LegacySource:
    """The legacy side of a feature: needs no service app (a control-plane process has none)."""
    if name not in FEATURES:
        raise UnknownFeatureError(f"unknown feature {name!r}; known: {', '.join(FEATURES)}")
    if name == "appointments":
        return appointments_source(settings.FICUS_HOSPITAL_TZ)
    return patients_source()


def has_service(name: str) -> bool:
    """Whether this process has the feature's service app (and so its database)."""
    return apps.is_installed(f"extracted.{name}")


def feature_sync(name: str) -> FeatureSync:
    source = feature_source(name)
    if not has_service(name):
        raise UnknownFeatureError(f"the {name} service is not installed in this process")
    if name == "appointments":
        return FeatureSync(source, appointments_target(source, settings.FICUS_HOSPITAL_TZ))
    return FeatureSync(source, patients_target(source))


def installed_features() -> list[str]:
    return [name for name in FEATURES if apps.is_installed(f"extracted.{name}")]
