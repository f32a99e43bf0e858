"""`upstream: NAME` shares an upstream another plan declares; an unknown name is refused."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]  # no stubs installed

from domain.plans import check_plans
from tests.migration_plans.plan_files import (
    GOOD,
    SCHEMA,
    assert_located,
    only_error,
    replaced,
    write,
)

# A second feature served by the same service as GOOD's appointments plan.
REMINDERS = """\
feature: reminders
owner: Scheduling IT <scheduling-it@hospital.example>
upstream: appointments
legacy_tables: [APPT_REMINDER]
routes:
  - method: GET
    path: /api/reminders/{id:int}
"""


def test_it_resolves_a_reference_to_the_declared_upstream(tmp_path: Path) -> None:
    write(tmp_path, "appointments.yaml", GOOD)
    write(tmp_path, "reminders.yaml", REMINDERS)

    result = check_plans(tmp_path, environ={})

    assert result.errors == ()
    by_feature = {plan.feature: plan for plan in result.plans}
    assert by_feature["reminders"].upstream == by_feature["appointments"].upstream
    assert by_feature["reminders"].upstream.instances == ("http://127.0.0.1:8101",)


def test_it_follows_the_environment_override_of_the_declaring_plan(tmp_path: Path) -> None:
    write(tmp_path, "appointments.yaml", GOOD)
    write(tmp_path, "reminders.yaml", REMINDERS)

    env = {"FICUS_UPSTREAM_APPOINTMENTS": "http://10.0.0.5:8101"}
    plans = {p.feature: p for p in check_plans(tmp_path, environ=env).plans}

    assert plans["reminders"].upstream.instances == ("http://10.0.0.5:8101",)


def test_it_refuses_an_unknown_upstream_naming_file_line_and_field(tmp_path: Path) -> None:
    write(tmp_path, "appointments.yaml", GOOD)
    path = write(tmp_path, "reminders.yaml", replaced(REMINDERS, "appointment", "apointment"))

    error = only_error(tmp_path)

    assert_located(error, path, 3, "upstream", "unknown upstream 'apointments'")
    assert "declared: appointments" in error.message
    assert [p.feature for p in check_plans(tmp_path, environ={}).plans] == ["appointments"]


def test_the_schema_accepts_a_reference_and_refuses_a_bad_name() -> None:
    validator = Draft202012Validator(json.loads(SCHEMA.read_text()))
    assert list(validator.iter_errors(yaml.safe_load(REMINDERS))) == []
    bad = yaml.safe_load(replaced(REMINDERS, "upstream: appointments", "upstream: Appointments!"))
    assert list(validator.iter_errors(bad)) != []
