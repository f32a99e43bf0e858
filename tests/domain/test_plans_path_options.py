"""Path options a plan may relax for its own routes: `trailing_slash` and `allow_path_params`.
`match` widens what a route answers, so overlaps are checked against the widened shapes."""

from __future__ import annotations

import pytest

from domain.plans import TrailingSlash
from tests.migration_plans.plan_files import (
    GOOD,
    assert_located,
    billing_plan,
    errors_for,
    load_one,
    refused,
    write,
)

OTHER = billing_plan("/api/appointments/{appt:int}/")


@pytest.mark.parametrize(("text", "expected"), [("strict", "strict"), ("match", "match")])
def test_it_reads_the_trailing_slash_rule(tmp_path, text, expected):
    plan = load_one(tmp_path, GOOD + f"trailing_slash: {text}\n")
    assert plan.trailing_slash is TrailingSlash(expected)


def test_an_unknown_trailing_slash_rule_is_refused(tmp_path):
    path, error = refused(tmp_path, GOOD + "trailing_slash: redirect\n")
    assert_located(error, path, 12, "trailing_slash", "'redirect' is not one of strict, match")


def test_with_match_a_template_may_not_end_in_a_slash(tmp_path):
    text = GOOD.replace("{id:int}", "{id:int}/") + "trailing_slash: match\n"
    path, error = refused(tmp_path, text)
    assert_located(error, path, 10, "routes[0].path", "ends in '/'")


def test_with_strict_the_slashed_template_is_another_route(tmp_path):
    write(tmp_path, "appointments.yaml", GOOD)
    write(tmp_path, "billing.yaml", OTHER)
    assert errors_for(tmp_path) == []


def test_with_match_the_slashed_template_of_another_plan_overlaps(tmp_path):
    first = write(tmp_path, "appointments.yaml", GOOD + "trailing_slash: match\n")
    second = write(tmp_path, "billing.yaml", OTHER)
    (error,) = errors_for(tmp_path)
    assert_located(error, second, 9, "routes[0].path", "overlaps GET /api/appointments/{id:int}")
    assert f"{first}:10" in error.message


def test_path_params_are_refused_unless_the_plan_allows_them(tmp_path):
    assert load_one(tmp_path, GOOD).allow_path_params is False
    assert load_one(tmp_path, GOOD + "allow_path_params: true\n").allow_path_params is True
    path, error = refused(tmp_path, GOOD + "allow_path_params: sometimes\n")
    assert_located(error, path, 12, "allow_path_params", "expected true or false, got str")
