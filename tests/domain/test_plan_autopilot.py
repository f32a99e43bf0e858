"""The plan's `autopilot:` section: defaults, every field, located errors, and the schema."""

from __future__ import annotations

import json

import pytest
import yaml
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]  # no stubs installed

from domain.phases import Phase
from domain.plan_autopilot import rollback_checks
from domain.plans import AutopilotSettings
from tests.migration_plans.plan_files import (
    GOOD,
    SCHEMA,
    assert_located,
    errors_for,
    load_one,
    write,
)

SECTION_LINE = GOOD.count("\n") + 1  # the `autopilot:` key, appended after GOOD

FULL_SECTION = """\
autopilot:
  interval_seconds: 30
  steps: [1, 10, 50]
  dwell_seconds: 600
  min_samples: 500
  failure_threshold: 2
  target: canary
  rollback_to: legacy
  rollback_on: [max_error_rate, max_p99_ratio]
"""


def test_it_leaves_the_autopilot_off_without_the_section(tmp_path):
    assert load_one(tmp_path, GOOD).autopilot is None


def test_an_empty_section_takes_every_default(tmp_path):
    plan = load_one(tmp_path, GOOD + "autopilot: {}\n")
    assert plan.autopilot == AutopilotSettings()
    assert plan.autopilot.steps == (5, 25, 50)
    assert plan.autopilot.target is Phase.MIGRATED
    assert plan.autopilot.rollback_on == ("max_error_rate",)


def test_it_reads_every_field(tmp_path):
    plan = load_one(tmp_path, GOOD + FULL_SECTION)
    assert plan.autopilot == AutopilotSettings(
        interval_seconds=30.0,
        steps=(1, 10, 50),
        dwell_seconds=600.0,
        min_samples=500,
        failure_threshold=2,
        target=Phase.CANARY,
        rollback_to=Phase.LEGACY,
        rollback_on=("max_error_rate", "max_p99_ratio"),
    )


@pytest.mark.parametrize(
    ("line", "field", "message"),
    [
        ("  interval_seconds: 0", "autopilot.interval_seconds", "out of range"),
        ("  dwell_seconds: -1", "autopilot.dwell_seconds", "out of range"),
        ("  min_samples: 0", "autopilot.min_samples", "out of range"),
        ("  failure_threshold: 1.5", "autopilot.failure_threshold", "whole number"),
        ("  steps: []", "autopilot.steps", "lists no weight"),
        ("  steps: [5, 100]", "autopilot.steps[1]", "out of range"),
        ("  steps: [25, 5]", "autopilot.steps[1]", "not above the step before it"),
        ("  target: retired", "autopilot.target", "is not one of canary, migrated"),
        ("  rollback_to: canary", "autopilot.rollback_to", "is not one of legacy, shadow"),
        ("  rollback_on: [min_samples]", "autopilot.rollback_on[0]", "is not one of"),
        ("  rollback_on: [max_error_rate, max_error_rate]", "autopilot.rollback_on[1]", "twice"),
        ("  cooldown: 5", "autopilot.cooldown", "unknown field"),
    ],
)
def test_a_bad_field_is_located(tmp_path, line, field, message):
    path = write(tmp_path, "appointments.yaml", GOOD + "autopilot:\n" + line + "\n")
    (error,) = errors_for(tmp_path)
    assert_located(error, path, SECTION_LINE + 1, field, message)


def test_every_problem_of_the_section_is_reported(tmp_path):
    write(tmp_path, "appointments.yaml", GOOD + "autopilot: {min_samples: 0, target: x}\n")
    assert {e.field for e in errors_for(tmp_path)} == {"autopilot.min_samples", "autopilot.target"}


def test_the_schema_accepts_the_section_and_refuses_what_the_parser_refuses(tmp_path):
    validator = Draft202012Validator(json.loads(SCHEMA.read_text()))
    assert list(validator.iter_errors(yaml.safe_load(GOOD + FULL_SECTION))) == []
    for bad in ("  steps: [0]", "  target: retired", "  cooldown: 5", "  min_samples: 0"):
        text = GOOD + "autopilot:\n" + bad + "\n"
        assert list(validator.iter_errors(yaml.safe_load(text))) != [], bad
        write(tmp_path, "appointments.yaml", text)
        assert errors_for(tmp_path) != [], bad


def test_the_schema_offers_exactly_the_checks_the_parser_accepts_for_rollback_on():
    schema = json.loads(SCHEMA.read_text())
    offered = schema["$defs"]["autopilot"]["properties"]["rollback_on"]["items"]["enum"]
    assert offered == list(rollback_checks())
    assert "min_samples" not in offered  # missing data holds; it never counts as a failure
