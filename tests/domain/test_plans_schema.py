"""docs/plan.schema.json, the JSON Schema YAML editors use: valid draft 2020-12, accepts every
shipped plan, refuses unknown fields at every level, and lists exactly the parser's fields."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]  # no stubs installed

from domain.plans import FIELDS
from tests.migration_plans.plan_files import (
    FULL,
    GOOD,
    SCHEMA,
    SHIPPED,
    UNKNOWN_FIELDS,
    errors_for,
    replaced,
    write,
)

SHIPPED_FILES = sorted(SHIPPED.glob("*.yaml"))


@pytest.fixture(scope="module")
def validator() -> Draft202012Validator:
    schema = json.loads(SCHEMA.read_text())
    Draft202012Validator.check_schema(schema)  # raises SchemaError if the schema is malformed
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    return Draft202012Validator(schema)


def problems(validator: Draft202012Validator, text: str) -> list[str]:
    """Every message, including those under a `oneOf` (`upstream` is a name or a mapping)."""
    pending = list(validator.iter_errors(yaml.safe_load(text)))
    messages: list[str] = []
    while pending:
        error = pending.pop()
        messages.append(error.message)
        pending.extend(error.context or ())
    return messages


def test_there_are_shipped_plans_to_check():
    assert {p.stem for p in SHIPPED_FILES} >= {"appointments", "patients"}


@pytest.mark.parametrize("path", SHIPPED_FILES, ids=lambda p: p.name)
def test_every_shipped_plan_is_valid_against_the_schema(validator, path):
    assert problems(validator, path.read_text()) == []


@pytest.mark.parametrize("path", SHIPPED_FILES, ids=lambda p: p.name)
def test_every_shipped_plan_points_its_editor_at_the_schema(path):
    first = path.read_text().splitlines()[0]
    prefix = "# yaml-language-server: $schema="
    assert first.startswith(prefix)
    assert (path.parent / first.removeprefix(prefix)).resolve() == SCHEMA.resolve()


def test_the_test_plans_are_valid_against_the_schema(validator):
    assert problems(validator, GOOD) == []
    assert problems(validator, FULL) == []


@pytest.mark.parametrize(
    ("old", "new"),
    [(old, new) for old, new, _ in UNKNOWN_FIELDS] + [("gates:", "gates:\n  legacy: {}")],
)
def test_the_schema_refuses_an_unknown_field_at_every_level(validator, old, new):
    found = problems(validator, replaced(FULL, old, new))
    assert any("Additional properties are not allowed" in p for p in found), found


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("max_error_rate: 0.01", "max_error_rate: 1.5"),
        ("min_samples: 200", "min_samples: -1"),
        ("cohort: {key: path, name: id}", "cohort: {key: header}"),
        ("cohort: {key: path, name: id}", "cohort: {key: session, name: SESSID}"),
        ("cohort: {key: path, name: id}", "cohort: {key: ward, name: id}"),
        ("trailing_slash: match", "trailing_slash: redirect"),
        ("canary_writes: true", "canary_writes: 'true'"),
        ("route: PUT /api/appointments/{id:int}", "route: /api/appointments/{id:int}"),
        ("non_owner_writes: owner_wins", "non_owner_writes: last_wins"),
        ("credential: header", "credential: token"),
        ("resolve: whoami", "resolve: ldap"),
        ("path: /api/whoami", "path: api/whoami"),
        ("max_in_flight: 8", "max_in_flight: 0"),
        ("min_compared: 500, ", ""),
        ("min_compared: 500", "min_compared: 0"),
    ],
)
def test_the_schema_refuses_bad_values_the_parser_refuses(validator, old, new, tmp_path):
    text = replaced(FULL, old, new)
    assert problems(validator, text) != []
    write(tmp_path, "appointments.yaml", text)
    assert errors_for(tmp_path) != []  # and the parser, the authority, agrees


def _properties(schema: dict[str, Any], where: str) -> list[str]:
    defs = schema["$defs"]
    node = {
        "plan": schema,
        "upstream": defs["upstream"],
        "upstream.health": defs["health"],
        "routes[]": defs["route"],
        "routes[].rpc": defs["route"]["properties"]["rpc"],
        "cohort": defs["key"],
        "gates": schema["properties"]["gates"],
        "gates.*": defs["gate"],
        "shadow": defs["shadow"],
        "shadow.compare": defs["shadow"]["properties"]["compare"],
        "shadow.compare.noise": defs["shadow"]["properties"]["compare"]["properties"]["noise"],
        "shadow.compare.routes.*": defs["route_compare"],
        "contract": defs["contract"],
        "contract.volatile_fields[]": defs["contract"]["properties"]["volatile_fields"]["items"],
        "contract.differences[]": defs["contract"]["properties"]["differences"]["items"],
        "sync": defs["sync"],
        "autopilot": defs["autopilot"],
        "legacy_session": defs["legacy_session"],
        "legacy_session.whoami": defs["whoami"],
    }[where]
    assert node["additionalProperties"] is False, where
    return list(node["properties"])


@pytest.mark.parametrize("where", sorted(FIELDS))
def test_the_schema_lists_exactly_the_parsers_fields(where):
    schema = json.loads(SCHEMA.read_text())
    assert _properties(schema, where) == list(FIELDS[where])
