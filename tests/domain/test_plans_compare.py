"""`shadow.compare`: how the operator's plan says shadowed answers are compared, and the rules
the proxy gets for each route (with the contract's volatile fields and accepted differences).
Every bad value is refused at its line and field."""

from __future__ import annotations

import json
from types import MappingProxyType

import pytest
import yaml
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]  # no stubs installed

from domain.comparison import CompareRules
from domain.noise import Thresholds
from domain.plan_model import CompareSettings, NoiseSettings, RouteCompare
from tests.migration_plans.plan_files import (
    GOOD,
    SCHEMA,
    assert_located,
    load_one,
    refused,
    replaced,
)

# GOOD is 11 lines; the comments give each line's number, which the error tests rely on.
PLAN = GOOD + (
    "  - method: POST\n"  # 12
    "    path: /api/appointments\n"
    "shadow:\n"  # 14
    "  include_writes: true\n"
    "  compare:\n"
    "    headers: [Content-Type, ETag]\n"  # 17
    "    array_keys: {body.APPTS: APPT_ID}\n"
    "    generated: [body.APPT_ID, header.location]\n"  # 19
    "    noise: {sample_percent: 5, relative_threshold: 25, absolute_threshold: 0.1}\n"
    "    max_samples_per_field: 3\n"  # 21
    "    retention_days: 14\n"
    "    routes:\n"  # 23
    "      POST /api/appointments:\n"
    "        generated: [body.CREATED_TS]\n"  # 25
    "contract:\n"
    "  volatile_fields:\n"
    "    - {field: UPD_TS, reason: stamped by the writer's clock}\n"  # 28
    "  differences:\n"
    "    - route: POST /api/appointments\n"  # 30
    "      what: 201 instead of 200\n"
    "      reason: ticket CAB-7\n"
    "      path: status\n"  # 33
)
POST = "POST /api/appointments"
GET = "GET /api/appointments/{id:int}"


def test_a_plan_without_compare_compares_by_the_defaults(tmp_path):
    plan = load_one(tmp_path, GOOD)
    assert plan.shadow.compare == CompareSettings()
    assert plan.shadow.compare.noise.thresholds() == Thresholds(20.0, 0.03)
    assert plan.compare_rules(GET) == CompareRules(headers=frozenset({"content-type"}))


def test_an_empty_compare_section_is_the_defaults(tmp_path):
    plan = load_one(tmp_path, GOOD + "shadow:\n  compare: {}\n")
    assert plan.shadow.compare == CompareSettings()


def test_every_compare_field_is_read(tmp_path):
    compare = load_one(tmp_path, PLAN).shadow.compare
    assert compare == CompareSettings(
        headers=frozenset({"content-type", "etag"}),
        array_keys=MappingProxyType({"body.APPTS": "APPT_ID"}),
        generated=frozenset({"body.APPT_ID", "header.location"}),
        noise=NoiseSettings(5.0, 25.0, 0.1),
        max_samples_per_field=3,
        retention_days=14,
        routes={POST: RouteCompare(generated=frozenset({"body.CREATED_TS"}))},
    )


def test_each_route_gets_the_features_rules_and_its_own(tmp_path):
    plan = load_one(tmp_path, PLAN)
    post, get = plan.compare_rules(POST), plan.compare_rules(GET)
    assert post.generated == {"body.APPT_ID", "header.location", "body.CREATED_TS"}
    assert get.generated == {"body.APPT_ID", "header.location"}
    # The contract's volatile member is ignored at any depth; its accepted difference is
    # the POST route's only.
    assert post.ignored == get.ignored == {"body.**.UPD_TS"}
    assert post.accepted == {"status"}
    assert get.accepted == frozenset()
    assert post.array_keys == {"body.APPTS": "APPT_ID"}


def test_a_route_may_replace_the_headers_compared(tmp_path):
    text = replaced(PLAN, "        generated: [body.CREATED_TS]\n", "        headers: [location]\n")
    assert load_one(tmp_path, text).compare_rules(POST).headers == {"location"}


@pytest.mark.parametrize(
    ("old", "new", "line", "field", "complaint"),
    [
        (
            "header.location]",
            "'body..x']",
            19,
            "shadow.compare.generated[1]",
            "'body..x' is not a comparison path",
        ),
        (
            "[body.APPT_ID, ",
            "[body.APPT_ID, status, status, ",
            19,
            "shadow.compare.generated[2]",
            "'status' is listed twice (first on line 19)",
        ),
        ("ETag]", "'E Tag']", 17, "shadow.compare.headers[1]", "is not a header name"),
        ("ETag]", "content-type]", 17, "shadow.compare.headers[1]", "listed twice"),
        ("{body.APPTS:", "{APPTS:", 18, "shadow.compare.array_keys.APPTS", "not a comparison path"),
        ("{body.APPTS:", "{status:", 18, "shadow.compare.array_keys.status", "is in the body"),
        ("APPT_ID}", "'APPT ID'}", 18, "shadow.compare.array_keys.body.APPTS", "not a member"),
        (
            "relative_threshold: 25",
            "relative_threshold: 120",
            20,
            "shadow.compare.noise.relative_threshold",
            "out of range (0 to 100; percent)",
        ),
        (
            "sample_percent: 5,",
            "sample_percent: -1,",
            20,
            "shadow.compare.noise.sample_percent",
            "out of range",
        ),
        (
            "absolute_threshold: 0.1}",
            "absolute: 0.1}",
            20,
            "shadow.compare.noise.absolute",
            "unknown field (expected sample_percent, relative_threshold, absolute_threshold)",
        ),
        ("field: 3", "field: 101", 21, "shadow.compare.max_samples_per_field", "out of range"),
        ("days: 14", "days: 0", 22, "shadow.compare.retention_days", "out of range (1 to 3650)"),
        (
            "      POST /api/appointments:",
            "      POST /api/patients:",
            24,
            "shadow.compare.routes[POST /api/patients]",
            "is not one of this plan's routes",
        ),
        (
            "      POST /api/appointments:",
            "      /api/appointments:",
            24,
            "shadow.compare.routes[/api/appointments]",
            "must be 'METHOD /template'",
        ),
        (
            "        generated: [body.CREATED_TS]",
            "        volatile: [body.x]",
            25,
            f"shadow.compare.routes[{POST}].volatile",
            "unknown field (expected headers",
        ),
        ("    retention_days: 14\n", "    keep: 14\n", 22, "shadow.compare.keep", "unknown field"),
        (
            "      path: status",
            "      path: body..x",
            33,
            "contract.differences[0].path",
            "not a comparison path",
        ),
    ],
)
def test_a_bad_compare_value_names_its_line_and_field(tmp_path, old, new, line, field, complaint):
    path, error = refused(tmp_path, replaced(PLAN, old, new))
    assert_located(error, path, line, field, complaint)


def test_the_schema_accepts_the_compare_section_and_refuses_what_the_parser_refuses():
    validator = Draft202012Validator(json.loads(SCHEMA.read_text()))
    assert list(validator.iter_errors(yaml.safe_load(PLAN))) == []
    for old, new in [
        ("relative_threshold: 25", "relative_threshold: 120"),
        ("header.location]", "'body..x']"),
        ("{body.APPTS:", "{status:"),
        ("      path: status", "      path: 'headers x'"),
    ]:
        bad = yaml.safe_load(replaced(PLAN, old, new))
        assert list(validator.iter_errors(bad)) != [], new
