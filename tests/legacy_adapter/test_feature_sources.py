"""Each feature's `SourceSpec`, found by convention in its mapping module, without Django."""

from __future__ import annotations

import pytest

from legacy_adapter import feature_sources
from legacy_adapter.feature_sources import call_with_zone, source_spec, source_specs
from migration_plans.feature_registry import feature_names


def test_it_builds_every_registered_features_spec_in_registry_order():
    assert tuple(spec.feature for spec in source_specs()) == tuple(feature_names())


def test_a_factory_that_asks_for_the_zone_gets_it():
    seen: list[str] = []

    def zoned(*, zone_name: str) -> str:
        seen.append(zone_name)
        return zone_name

    assert call_with_zone(zoned, zone_name="Europe/Berlin") == "Europe/Berlin"
    assert call_with_zone(lambda: "no zone", zone_name="Europe/Berlin") == "no zone"
    assert seen == ["Europe/Berlin"]


def test_the_zone_reaches_the_appointments_mapping():
    spec = source_spec("appointments", zone_name="America/New_York")
    row = {
        "APPT_ID": 1, "PAT_ID": 2, "PAT_NM": "Doe, Jane", "PROV_ID": 3,
        "APPT_DT": "20260701", "APPT_TM": "0930", "DUR_MIN": 15, "STATUS_CD": "B",
        "REASON_TXT": "", "UPD_TS": "20260701093000",
    }  # fmt: skip
    assert spec.to_record(row).starts_at.isoformat() == "2026-07-01T13:30:00+00:00"


def test_a_mapping_without_source_is_named(monkeypatch):
    monkeypatch.setattr(
        feature_sources, "feature", lambda name: type("F", (), {"mapping_module": "json"})()
    )
    feature_sources.source_factory.cache_clear()
    try:
        with pytest.raises(LookupError, match="json has no source"):
            feature_sources.source_factory("x")
    finally:
        feature_sources.source_factory.cache_clear()
