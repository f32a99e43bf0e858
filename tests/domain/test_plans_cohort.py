"""The canary cohort and the data owner: which request attribute splits a canary, and which
names the record a write changes. Bad keys are refused at their line."""

from __future__ import annotations

import pytest

from domain.plans import CohortKey, CohortKind
from tests.migration_plans.plan_files import FULL, GOOD, assert_located, load_one, refused, replaced


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{key: session}", CohortKey(CohortKind.SESSION, None)),
        ("{key: header, name: X-Ward}", CohortKey(CohortKind.HEADER, "x-ward")),
        ("{key: cookie, name: WARD}", CohortKey(CohortKind.COOKIE, "WARD")),
        ("{key: query, name: prov}", CohortKey(CohortKind.QUERY, "prov")),
        ("{key: path, name: id}", CohortKey(CohortKind.PATH, "id")),
    ],
)
def test_it_reads_each_kind_of_cohort_key(tmp_path, text, expected):
    plan = load_one(tmp_path, GOOD + f"cohort: {text}\n")
    assert plan.cohort == expected


def test_header_names_are_kept_in_lower_case_so_they_compare_as_http_does(tmp_path):
    text = GOOD + "cohort: {key: header, name: X-Ward}\ndata_owner: {key: header, name: x-ward}\n"
    plan = load_one(tmp_path, text + "canary_writes: true\n")
    assert plan.cohort == plan.data_owner


@pytest.mark.parametrize(
    ("text", "field", "complaint"),
    [
        ("{key: ward}", "cohort.key", "'ward' is not one of session, header, cookie, path, query"),
        ("{key: header}", "cohort.name", "is required for a header key"),
        ("{key: query}", "cohort.name", "is required for a query key"),
        ("{key: session, name: SESSID}", "cohort.name", "a session key takes no name"),
        ("{name: id}", "cohort.key", "is required"),
        ("{key: path, name: id, type: int}", "cohort.type", "unknown field"),
        ("{key: header, name: 'X Ward'}", "cohort.name", "is not a header name"),
        ("{key: cookie, name: 'a;b'}", "cohort.name", "is not a cookie name"),
        ("{key: path, name: '{id}'}", "cohort.name", "is not a template parameter name"),
        ("{key: query, name: 'a&b'}", "cohort.name", "is not a query parameter name"),
        ("{key: header, name: X-Ficus-Identity}", "cohort.name", "stripped by the proxy"),
        ("session", "cohort", "expected a mapping, got str"),
    ],
)
def test_a_bad_cohort_key_names_its_line_and_field(tmp_path, text, field, complaint):
    path, error = refused(tmp_path, GOOD + f"cohort: {text}\n")
    assert_located(error, path, 12, field, complaint)


def test_a_path_cohort_must_name_a_parameter_of_some_route(tmp_path):
    path, error = refused(tmp_path, GOOD + "cohort:\n  key: path\n  name: appt\n")
    assert_located(
        error, path, 14, "cohort.name", "no route template has a parameter 'appt' (parameters: id)"
    )


def test_a_path_data_owner_must_name_a_parameter_of_some_route(tmp_path):
    path, error = refused(tmp_path, GOOD + "data_owner: {key: path, name: patient}\n")
    assert_located(error, path, 12, "data_owner.name", "no route template has a parameter")


def test_a_route_starting_in_canary_needs_the_path_cohort_parameter(tmp_path):
    text = replaced(
        FULL,
        "  - method: GET\n    path: /api/appointments\n",
        "  - method: GET\n    path: /api/appointments\n    phase: canary\n",
    )
    path, error = refused(tmp_path, text)
    assert_located(
        error,
        path,
        14,
        "routes[0].phase",
        "GET /api/appointments has no parameter 'id', the plan's path cohort",
    )


def test_routes_without_the_parameter_may_exist_outside_canary(tmp_path):
    # The day list and the booking have no id: they stay on legacy while in canary.
    plan = load_one(tmp_path, FULL)
    assert plan.routes[0].path == "/api/appointments"


def test_data_owner_is_optional_and_read_like_a_cohort(tmp_path):
    assert load_one(tmp_path, GOOD).data_owner is None
    plan = load_one(tmp_path, GOOD + "data_owner: {key: path, name: id}\n")
    assert plan.data_owner == CohortKey(CohortKind.PATH, "id")
    path, error = refused(tmp_path, GOOD + "data_owner: {key: nurse}\n")
    assert_located(error, path, 12, "data_owner.key", "'nurse' is not one of")
