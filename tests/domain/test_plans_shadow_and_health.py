"""Shadow settings and upstream health checks: bounded numbers, refused at their line."""

from __future__ import annotations

import pytest

from domain.plans import HealthCheck, ShadowSettings
from tests.migration_plans.plan_files import (
    GOOD,
    assert_located,
    errors_for,
    load_one,
    refused,
    replaced,
    write,
)


def with_health(body: str) -> str:
    return replaced(
        GOOD,
        "  instances: [http://127.0.0.1:8101]\n",
        f"  instances: [http://127.0.0.1:8101]\n  health: {{{body}}}\n",
    )


def test_unset_shadow_fields_keep_their_defaults(tmp_path):
    plan = load_one(tmp_path, GOOD + "shadow: {sample_percent: 10}\n")
    assert plan.shadow == ShadowSettings(sample_percent=10.0)


def test_shadowing_may_be_turned_down_to_nothing(tmp_path):
    assert load_one(tmp_path, GOOD + "shadow: {sample_percent: 0}\n").shadow.sample_percent == 0


@pytest.mark.parametrize(
    ("body", "field", "complaint"),
    [
        ("sample_percent: 101", "sample_percent", "'101' is out of range (0 to 100)"),
        ("sample_percent: -1", "sample_percent", "out of range"),
        (
            "timeout_seconds: 0",
            "timeout_seconds",
            "'0' is out of range (greater than 0, up to 60 seconds)",
        ),
        ("max_in_flight: 0", "max_in_flight", "'0' is out of range (1 to 10000)"),
        ("max_in_flight: 1.5", "max_in_flight", "expected a whole number"),
        ("include_writes: on", "include_writes", "write true or false, not 'on'"),
        ("writes: true", "writes", "unknown field (expected sample_percent"),
    ],
)
def test_a_bad_shadow_setting_names_its_line_and_field(tmp_path, body, field, complaint):
    path, error = refused(tmp_path, GOOD + f"shadow: {{{body}}}\n")
    assert_located(error, path, 12, f"shadow.{field}", complaint)


def test_unset_health_fields_keep_their_defaults(tmp_path):
    plan = load_one(tmp_path, with_health("path: /ping"))
    assert plan.upstream.health == HealthCheck(path="/ping")


@pytest.mark.parametrize(
    ("body", "field", "complaint"),
    [
        ("path: ping", "path", "'ping' must be a plain path starting with '/'"),
        ("path: '/ping?x=1'", "path", "no query"),
        (
            "interval_seconds: 0",
            "interval_seconds",
            "out of range (greater than 0, up to 300 seconds)",
        ),
        ("timeout_seconds: 3", "timeout_seconds", "3 s is longer than interval_seconds (2 s)"),
        ("unhealthy_after: 0", "unhealthy_after", "'0' is out of range (1 to 100)"),
        ("healthy_after: two", "healthy_after", "expected a whole number, got str"),
        ("retries: 3", "retries", "unknown field (expected path, interval_seconds"),
    ],
)
def test_a_bad_health_check_names_its_line_and_field(tmp_path, body, field, complaint):
    path, error = refused(tmp_path, with_health(body))
    assert_located(error, path, 7, f"upstream.health.{field}", complaint)


def test_two_plans_sharing_an_upstream_must_share_its_health_check(tmp_path):
    write(tmp_path, "appointments.yaml", GOOD)
    second = write(
        tmp_path,
        "billing.yaml",
        with_health("interval_seconds: 10")
        .replace("feature: appointments", "feature: billing")
        .replace("APPT_SCHED", "BILL_CHARGE")
        .replace("/api/appointments/", "/api/charges/"),
    )
    (error,) = errors_for(tmp_path)
    assert_located(error, second, 7, "upstream.health", "with other health")
