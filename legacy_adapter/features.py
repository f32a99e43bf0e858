"""The features sync knows, each as its legacy source and its service target (Django side).

The composition root for the `sync` command, the evidence provider and the tests: a feature
whose service app is not installed in this process is refused with a clear message.

Which features exist is the registry's (migration_plans/feature_registry.py); each feature's
parts are found by convention, as Django finds an app's models: `source` in the feature's
mapping (`legacy_adapter.mapping.<feature>`, a `SourceSpec`), and `sync_target` in the service
app's `sync_target` module (`extracted.<feature>.sync_target`, imported when the feature's sync
is first asked for, since it imports the app's models). A factory that takes `zone_name` gets
the hospital's time zone (legacy times are local wall-clock times).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any, cast

from django.apps import apps
from django.conf import settings

from legacy_adapter.feature_sources import call_with_zone, source_factory, source_spec
from legacy_adapter.service_side import ServiceSide
from legacy_adapter.sources import LegacySource, legacy_source
from migration_plans.feature_registry import feature, feature_names

FEATURES = feature_names()


class UnknownFeatureError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class FeatureSync:
    source: LegacySource
    target: ServiceSide

    @property
    def name(self) -> str:
        return self.source.feature


def _factory(module: object, name: str) -> Callable[..., Any]:
    found = getattr(module, name, None)
    if not callable(found):
        raise LookupError(f"{getattr(module, '__name__', module)} has no {name}()")
    return cast(Callable[..., Any], found)


# Looked up once, at import: a feature of the registry without its source fails here.
for _name in FEATURES:
    source_factory(_name)


@cache
def _target_factory(name: str) -> Callable[..., Any]:
    return _factory(
        importlib.import_module(f"{feature(name).app_label}.sync_target"), "sync_target"
    )


def feature_source(name: str) -> LegacySource:
    """The legacy side of a feature: needs no service app (a control-plane process has none)."""
    if name not in FEATURES:
        raise UnknownFeatureError(f"unknown feature {name!r}; known: {', '.join(FEATURES)}")
    return legacy_source(source_spec(name, zone_name=settings.FICUS_HOSPITAL_TZ))


def has_service(name: str) -> bool:
    """Whether this process has the feature's service app (and so its database)."""
    return name in FEATURES and apps.is_installed(feature(name).app_label)


def feature_sync(name: str) -> FeatureSync:
    source = feature_source(name)
    if not has_service(name):
        raise UnknownFeatureError(f"the {name} service is not installed in this process")
    target: ServiceSide = call_with_zone(
        _target_factory(name), source, zone_name=settings.FICUS_HOSPITAL_TZ
    )
    return FeatureSync(source, target)


def installed_features() -> list[str]:
    return [name for name in FEATURES if has_service(name)]
