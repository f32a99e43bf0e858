"""A plan's `faces:`: the modern prefixes its service serves, read with located errors."""

from __future__ import annotations

import pytest

from tests.migration_plans.plan_files import (
    GOOD,
    assert_located,
    billing_plan,
    errors_for,
    load_one,
    refused,
    write,
)

OTHER = billing_plan("/api/bills/{id:int}", "faces: [/v2/bills, /fhir/Appointment]\n")


def test_it_reads_the_faces_in_order(tmp_path):
    plan = load_one(tmp_path, GOOD + "faces: [/v2/appointments, /fhir/Appointment]\n")
    assert plan.faces == ("/v2/appointments", "/fhir/Appointment")


def test_a_plan_without_faces_has_none(tmp_path):
    assert load_one(tmp_path, GOOD).faces == ()


@pytest.mark.parametrize(
    ("face", "message"),
    [
        ("/api/appointments", "not under a modern face root"),
        ("/v2", "names the whole /v2 root"),
        ("/v2/appointments/", "must start with '/' and not end with one"),
        ("/v2/appointments/{id:int}", "must be literal segments"),
        ("/fhir/appointment", "FHIR resource type"),
    ],
)
def test_a_face_that_is_not_a_modern_prefix_is_refused_at_its_line(tmp_path, face, message):
    path, error = refused(tmp_path, GOOD + f"faces:\n  - {face}\n")
    assert_located(error, path, 13, "faces[0]", message)


def test_a_face_listed_twice_is_refused(tmp_path):
    path, error = refused(tmp_path, GOOD + "faces: [/v2/appointments, /v2/appointments]\n")
    assert_located(error, path, 12, "faces[1]", "listed twice")


def test_two_plans_naming_one_face_are_refused_where_the_second_does(tmp_path):
    first = write(tmp_path, "appointments.yaml", GOOD + "faces: [/fhir/Appointment]\n")
    second = write(tmp_path, "billing.yaml", OTHER)
    (error,) = errors_for(tmp_path)
    assert_located(error, second, 10, "faces[1]", "already a face of feature 'appointments'")
    assert f"{first}:12" in error.message
