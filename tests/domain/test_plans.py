"""Plan files: good ones parse into dataclasses; every bad one names file, line and field."""

from __future__ import annotations

import pytest

from domain.phases import Phase
from domain.plans import PlanError, check_plans, load_plans
from tests.migration_plans.plan_files import (
    GOOD,
    SHIPPED,
    assert_located,
    errors_for,
    only_error,
    write,
)

__all__ = ["GOOD"]  # tests.proxy.test_addon imports it from here


def test_a_good_plan_parses_into_dataclasses(tmp_path):
    write(tmp_path, "appointments.yaml", GOOD)
    (plan,) = load_plans(tmp_path, environ={})
    assert plan.feature == "appointments"
    assert plan.owner == "Scheduling IT <scheduling-it@hospital.example>"
    assert plan.upstream.name == "appointments"
    assert plan.upstream.instances == ("http://127.0.0.1:8101",)
    assert plan.upstream.instances_from == "plan"
    assert plan.legacy_tables == ("APPT_SCHED",)
    (route,) = plan.routes
    assert (route.method, route.path, route.phase, route.line) == (
        "GET",
        "/api/appointments/{id:int}",
        Phase.MIGRATED,
        9,
    )


def test_the_pin_window_defaults_to_five_seconds(tmp_path):
    write(tmp_path, "appointments.yaml", GOOD)
    (plan,) = load_plans(tmp_path, environ={})
    assert plan.pin_reads_after_write_seconds == 5


@pytest.mark.parametrize(("text", "seconds"), [("5", 5), ("0", 0), ("2.5", 2.5), ("300", 300)])
def test_the_pin_window_can_be_set_or_turned_off(tmp_path, text, seconds):
    write(tmp_path, "appointments.yaml", GOOD + f"pin_reads_after_write_seconds: {text}\n")
    (plan,) = load_plans(tmp_path, environ={})
    assert plan.pin_reads_after_write_seconds == seconds


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("-1", "'-1' is out of range (0 to 300 seconds; 0 turns it off)"),
        ("301", "out of range"),
        (".inf", "out of range"),
        (".nan", "out of range"),
        ("'5'", "expected a number of seconds, got str"),
        ("five", "expected a number of seconds, got str"),
        ("yes", "expected a number of seconds, got a boolean"),
        ("~", "expected a number of seconds, got nothing (null)"),
        ("[5]", "expected a number of seconds, got a list"),
        ("!!int five", "'five' is not a number of seconds"),
    ],
)
def test_a_bad_pin_window_names_file_line_and_field(tmp_path, text, complaint):
    path = write(tmp_path, "appointments.yaml", GOOD + f"pin_reads_after_write_seconds: {text}\n")
    assert_located(only_error(tmp_path), path, 12, "pin_reads_after_write_seconds", complaint)


def test_a_misspelt_pin_window_is_an_unknown_field(tmp_path):
    path = write(tmp_path, "appointments.yaml", GOOD + "pin_reads_after_write_second: 5\n")
    error = only_error(tmp_path)
    assert_located(error, path, 12, "pin_reads_after_write_second", "unknown field")
    assert "pin_reads_after_write_seconds" in error.message  # the list of fields it expected


def test_a_pin_window_given_twice_is_refused(tmp_path):
    path = write(
        tmp_path,
        "appointments.yaml",
        GOOD + "pin_reads_after_write_seconds: 5\npin_reads_after_write_seconds: 1\n",
    )
    assert_located(only_error(tmp_path), path, 13, "pin_reads_after_write_seconds", "given twice")


def test_the_environment_replaces_the_instances(tmp_path):
    write(tmp_path, "appointments.yaml", GOOD)
    environ = {"FICUS_UPSTREAM_APPOINTMENTS": "http://127.0.0.1:18101, http://127.0.0.1:18102"}
    (plan,) = load_plans(tmp_path, environ=environ)
    assert plan.upstream.instances == ("http://127.0.0.1:18101", "http://127.0.0.1:18102")
    assert plan.upstream.instances_from == "FICUS_UPSTREAM_APPOINTMENTS"


def test_a_bad_override_is_reported_at_the_instances_line(tmp_path):
    path = write(tmp_path, "appointments.yaml", GOOD)
    error = only_error(tmp_path, {"FICUS_UPSTREAM_APPOINTMENTS": "ftp://x"})
    assert_located(error, path, 6, "upstream.instances", "FICUS_UPSTREAM_APPOINTMENTS")


def test_description_is_optional(tmp_path):
    write(
        tmp_path,
        "appointments.yaml",
        GOOD.replace("description: Appointment book and booking API.\n", ""),
    )
    (plan,) = load_plans(tmp_path, environ={})
    assert plan.description == ""


def test_an_unknown_parameter_type_is_reported_like_a_compiler_would(tmp_path):
    path = write(tmp_path, "appointments.yaml", GOOD.replace("{id:int}", "{id:integer}"))
    error = only_error(tmp_path)
    assert str(error) == (
        f"{path}:10: routes[0].path: '{{id:integer}}' has an unknown parameter type "
        "'integer' (use int or str)"
    )


def test_bad_yaml_syntax_names_the_line(tmp_path):
    path = write(
        tmp_path, "appointments.yaml", GOOD.replace("  name: appointments", "  name: [oops")
    )
    error = only_error(tmp_path)
    assert error.file == str(path)
    assert error.field == "(yaml)"
    assert error.line in (5, 6)


def test_an_empty_file_is_an_error(tmp_path):
    path = write(tmp_path, "appointments.yaml", "# nothing yet\n")
    assert_located(only_error(tmp_path), path, 1, "(document)", "empty")


def test_the_document_must_be_a_mapping(tmp_path):
    path = write(tmp_path, "appointments.yaml", "- feature: appointments\n")
    assert_located(only_error(tmp_path), path, 1, "(document)", "expected a mapping, got a list")


def test_unknown_fields_are_refused_at_their_line(tmp_path):
    path = write(
        tmp_path, "appointments.yaml", GOOD.replace("    phase: migrated", "    phaze: migrated")
    )
    assert_located(only_error(tmp_path), path, 11, "routes[0].phaze", "unknown field")


def test_an_unknown_top_level_field_is_refused(tmp_path):
    path = write(tmp_path, "appointments.yaml", GOOD + "cohorts: ward\n")
    assert_located(only_error(tmp_path), path, 12, "cohorts", "unknown field")


def test_missing_fields_are_named(tmp_path):
    path = write(
        tmp_path,
        "appointments.yaml",
        GOOD.replace("owner: Scheduling IT <scheduling-it@hospital.example>\n", ""),
    )
    assert_located(only_error(tmp_path), path, 1, "owner", "is required")


def test_a_field_given_twice_is_refused(tmp_path):
    path = write(tmp_path, "appointments.yaml", GOOD + "owner: Someone else\n")
    assert_located(only_error(tmp_path), path, 12, "owner", "given twice (first on line 2)")


@pytest.mark.parametrize(
    ("old", "new", "line", "field", "text"),
    [
        ("feature: appointments", "feature: 12", 1, "feature", "expected a string, got a number"),
        (
            "legacy_tables: [APPT_SCHED]",
            "legacy_tables: APPT_SCHED",
            7,
            "legacy_tables",
            "expected a list",
        ),
        (
            "instances: [http://127.0.0.1:8101]",
            "instances: [8101]",
            6,
            "upstream.instances[0]",
            "expected a string",
        ),
        (
            "    phase: migrated",
            "    phase: yes",
            11,
            "routes[0].phase",
            "expected a string, got a boolean",
        ),
        (
            "- method: GET",
            "- method: !!python/name:os.system GET",
            9,
            "routes[0].method",
            "expected a string",
        ),
        (
            "owner: Scheduling IT <scheduling-it@hospital.example>",
            "owner: ''",
            2,
            "owner",
            "must not be empty",
        ),
    ],
)
def test_wrong_types_are_refused(tmp_path, old, new, line, field, text):
    assert old in GOOD
    path = write(tmp_path, "appointments.yaml", GOOD.replace(old, new))
    assert_located(only_error(tmp_path), path, line, field, text)


def test_routes_must_be_a_list_of_mappings(tmp_path):
    path = write(
        tmp_path,
        "appointments.yaml",
        GOOD.split("routes:")[0] + "routes:\n  - GET /api/appointments/{id:int}\n",
    )
    assert_located(only_error(tmp_path), path, 9, "routes[0]", "expected a mapping, got str")


@pytest.mark.parametrize(
    ("method", "text"),
    [
        ("get", "use upper case: 'GET'"),
        ("FETCH", "'FETCH' is not a method Ficus routes"),
        ("*", "is not a method"),
    ],
)
def test_bad_methods_are_refused(tmp_path, method, text):
    path = write(tmp_path, "appointments.yaml", GOOD.replace("method: GET", f"method: '{method}'"))
    assert_located(only_error(tmp_path), path, 9, "routes[0].method", text)


def test_bad_templates_are_refused(tmp_path):
    path = write(
        tmp_path,
        "appointments.yaml",
        GOOD.replace("/api/appointments/{id:int}", "/api/appointments//x"),
    )
    assert_located(only_error(tmp_path), path, 10, "routes[0].path", "empty segment")


def test_unknown_phases_are_refused(tmp_path):
    path = write(tmp_path, "appointments.yaml", GOOD.replace("phase: migrated", "phase: migrating"))
    assert_located(
        only_error(tmp_path),
        path,
        11,
        "routes[0].phase",
        "'migrating' is not a phase (use legacy, shadow, canary, migrated, retired)",
    )


def test_the_feature_must_match_the_file_name(tmp_path):
    path = write(
        tmp_path, "appointments.yaml", GOOD.replace("feature: appointments", "feature: billing")
    )
    assert_located(only_error(tmp_path), path, 1, "feature", "does not match the file name")


def test_legacy_is_a_reserved_name(tmp_path):
    path = write(tmp_path, "appointments.yaml", GOOD.replace("name: appointments", "name: legacy"))
    assert_located(only_error(tmp_path), path, 5, "upstream.name", "reserved")


@pytest.mark.parametrize(
    ("url", "text"),
    [
        ("ftp://127.0.0.1:8101", "must look like http://host:port"),
        ("http://127.0.0.1:8101/api", "must not have a path"),
        ("http://user:pw@127.0.0.1:8101", "must not carry credentials"),
        ("http://127.0.0.1:99999", "not a valid URL"),
    ],
)
def test_bad_instance_urls_are_refused(tmp_path, url, text):
    path = write(tmp_path, "appointments.yaml", GOOD.replace("http://127.0.0.1:8101", url))
    assert_located(only_error(tmp_path), path, 6, "upstream.instances[0]", text)


def test_several_errors_in_one_file_are_all_reported(tmp_path):
    write(
        tmp_path,
        "appointments.yaml",
        GOOD.replace("method: GET", "method: get").replace("phase: migrated", "phase: done"),
    )
    assert [e.field for e in errors_for(tmp_path)] == ["routes[0].method", "routes[0].phase"]


def test_overlapping_routes_across_plans_name_both_files_and_lines(tmp_path):
    first = write(tmp_path, "appointments.yaml", GOOD)
    second = write(
        tmp_path,
        "billing.yaml",
        GOOD.replace("appointments", "billing")
        .replace("APPT_SCHED", "BILL_CHARGE")
        .replace("/api/billing/{id:int}", "/api/appointments/{appt:int}"),
    )
    error = only_error(tmp_path)
    assert_located(error, second, 10, "routes[0].path", "overlaps GET /api/appointments/{id:int}")
    assert f"{first}:10" in error.message
    assert "'appointments'" in error.message


def test_duplicate_routes_in_one_plan_are_refused(tmp_path):
    path = write(
        tmp_path,
        "appointments.yaml",
        GOOD + "  - method: GET\n    path: /api/appointments/{n:int}\n    phase: legacy\n",
    )
    error = only_error(tmp_path)
    assert_located(error, path, 13, "routes[1].path", f"({path}:10)")


def test_a_legacy_table_has_one_owner(tmp_path):
    first = write(tmp_path, "appointments.yaml", GOOD)
    second = write(
        tmp_path,
        "billing.yaml",
        GOOD.replace("appointments", "billing"),
    )
    error = only_error(tmp_path)
    assert_located(error, second, 7, "legacy_tables[0]", "'APPT_SCHED' is already owned")
    assert f"{first}:7" in error.message


def test_an_upstream_shared_by_two_plans_must_have_the_same_instances(tmp_path):
    write(tmp_path, "appointments.yaml", GOOD)
    second = write(
        tmp_path,
        "billing.yaml",
        GOOD.replace("feature: appointments", "feature: billing")
        .replace("APPT_SCHED", "BILL_CHARGE")
        .replace("/api/appointments/", "/api/charges/")
        .replace("8101", "8102"),
    )
    assert_located(only_error(tmp_path), second, 6, "upstream.instances", "with other instances")


def test_yml_files_are_flagged_rather_than_silently_ignored(tmp_path):
    path = write(tmp_path, "appointments.yml", GOOD)
    assert_located(only_error(tmp_path), path, 0, "(file)", ".yaml")


def test_a_missing_directory_is_an_error(tmp_path):
    error = only_error(tmp_path / "nope")
    assert error.field == "(directory)"


def test_an_empty_directory_has_no_plans_and_no_errors(tmp_path):
    result = check_plans(tmp_path, environ={})
    assert result.ok
    assert result.plans == ()


def test_load_plans_raises_the_first_error(tmp_path):
    path = write(tmp_path, "appointments.yaml", GOOD.replace("phase: migrated", "phase: done"))
    with pytest.raises(PlanError) as info:
        load_plans(tmp_path, environ={})
    assert info.value.file == str(path)
    assert info.value.line == 11
    assert isinstance(info.value, ValueError)


def test_the_shipped_plans_are_valid():
    plans = load_plans(SHIPPED, environ={})
    assert {p.feature for p in plans} >= {"appointments", "patients"}


def test_the_shipped_appointments_plan_declares_every_route_of_the_feature():
    (plan,) = [p for p in load_plans(SHIPPED, environ={}) if p.feature == "appointments"]
    assert [(r.method, r.path, r.phase) for r in plan.routes] == [
        ("GET", "/api/appointments", Phase.LEGACY),
        ("POST", "/api/appointments", Phase.LEGACY),
        ("GET", "/api/appointments/{id:int}", Phase.MIGRATED),
        ("PUT", "/api/appointments/{id:int}", Phase.LEGACY),
        ("POST", "/api/appointments/{id:int}/cancel", Phase.LEGACY),
    ]
    assert plan.pin_reads_after_write_seconds == 5
