"""The legacy-contract section: fields ignored in comparisons and allowed differences, each
with a reason; a difference must name one of the plan's own routes."""

from __future__ import annotations

import pytest

from tests.migration_plans.plan_files import (
    FULL,
    assert_located,
    load_one,
    refused,
    replaced,
)

DIFFERENCE = "    - route: PUT /api/appointments/{id:int}\n"


def test_a_contract_may_list_nothing(tmp_path):
    text = FULL.split("contract:")[0] + "contract: {volatile_fields: [], differences: []}\n"
    plan = load_one(tmp_path, text)
    assert (plan.contract.volatile_fields, plan.contract.differences) == ((), ())


@pytest.mark.parametrize(
    "route",
    [
        "GET /api/appointments/{appt:int}",  # same shape, another name: say exactly which route
        "DELETE /api/appointments/{id:int}",  # a method the plan does not route there
        "PUT /api/patients/{id:int}",  # another plan's route
    ],
)
def test_a_difference_must_name_one_of_the_plans_routes(tmp_path, route):
    path, error = refused(tmp_path, replaced(FULL, DIFFERENCE, f"    - route: {route}\n"))
    assert_located(
        error, path, 31, "contract.differences[0].route", f"{route!r} is not one of this plan"
    )
    assert "PUT /api/appointments/{id:int}" in error.message  # the routes it could name


@pytest.mark.parametrize(
    "route", ["/api/appointments", "put /api/appointments", "PUT  /api/appointments", "PUT"]
)
def test_a_difference_route_must_be_method_and_template(tmp_path, route):
    path, error = refused(tmp_path, replaced(FULL, DIFFERENCE, f"    - route: '{route}'\n"))
    assert_located(error, path, 31, "contract.differences[0].route", "must be 'METHOD /template'")


def test_a_difference_needs_a_reason(tmp_path):
    path, error = refused(tmp_path, replaced(FULL, "      reason: ticket CAB-7\n", ""))
    assert_located(error, path, 31, "contract.differences[0].reason", "is required")


@pytest.mark.parametrize(
    ("entry", "field", "complaint"),
    [
        ("{field: UPD_TS}", "reason", "is required"),
        ("{field: UPD_TS, reason: ''}", "reason", "must not be empty"),
        ("{field: 'UPD TS', reason: x}", "field", "is not a JSON member name"),
        ("{field: UPD_TS, reason: x, why: y}", "why", "unknown field (expected field, reason)"),
    ],
)
def test_a_bad_volatile_field_names_its_line_and_field(tmp_path, entry, field, complaint):
    text = replaced(
        FULL, "    - {field: UPD_TS, reason: stamped by the writer's clock}", f"    - {entry}"
    )
    path, error = refused(tmp_path, text)
    assert_located(error, path, 29, f"contract.volatile_fields[0].{field}", complaint)


def test_a_volatile_field_listed_twice_is_refused(tmp_path):
    entry = "    - {field: UPD_TS, reason: stamped by the writer's clock}\n"
    path, error = refused(
        tmp_path, replaced(FULL, entry, entry + "    - {field: UPD_TS, reason: again}\n")
    )
    assert_located(
        error, path, 30, "contract.volatile_fields[1].field", "listed twice (first on line 29)"
    )


def test_nested_fields_may_be_named_with_dots(tmp_path):
    text = replaced(FULL, "{field: UPD_TS,", "{field: APPTS.UPD_TS,")
    assert load_one(tmp_path, text).contract.volatile_names == frozenset({"APPTS.UPD_TS"})


def test_an_unknown_contract_section_is_refused(tmp_path):
    path, error = refused(tmp_path, replaced(FULL, "  differences:\n", "  exceptions:\n"))
    assert_located(
        error,
        path,
        30,
        "contract.exceptions",
        "unknown field (expected volatile_fields, differences)",
    )
