"""Each feature's `SourceSpec`, found by convention and built without Django.

A feature's mapping (`legacy_adapter.mapping.<feature>`) declares `source()`, or
`source(zone_name)` when its mapping needs the hospital's time zone (legacy times are local
wall-clock times). `legacy_adapter.features` builds the specs with the configured zone for sync;
capture reads only what no zone changes (the tables and their lookups), so it builds them in UTC.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from functools import cache
from typing import TypeVar, cast

from domain.records.source_spec import SourceSpec
from migration_plans.feature_registry import feature, feature_names

# Capture's zone: the shape of a spec (table, key, joins) does not depend on it.
SHAPE_ZONE = "UTC"

T = TypeVar("T")


@cache
def source_factory(name: str) -> Callable[..., SourceSpec]:
    """The mapping's `source`; a feature of the registry without one fails with its module named."""
    module = importlib.import_module(feature(name).mapping_module)
    found = getattr(module, "source", None)
    if not callable(found):
        raise LookupError(f"{module.__name__} has no source()")
    return cast(Callable[..., SourceSpec], found)


def source_spec(name: str, *, zone_name: str) -> SourceSpec:
    """The feature's spec, given `zone_name` if its factory asks for it."""
    return call_with_zone(source_factory(name), zone_name=zone_name)


def source_specs(zone_name: str = SHAPE_ZONE) -> tuple[SourceSpec, ...]:
    """Every feature's spec, in the registry's order."""
    return tuple(source_spec(name, zone_name=zone_name) for name in feature_names())


def call_with_zone(factory: Callable[..., T], *args: object, zone_name: str) -> T:
    """`factory(*args)`, with the hospital's zone if the factory takes `zone_name`."""
    if "zone_name" in inspect.signature(factory).parameters:
        return factory(*args, zone_name=zone_name)
    return factory(*args)
