"""The plans' `legacy_session:` section: its kinds, its located errors, and one legacy app
(every plan that declares it declares the same)."""

from __future__ import annotations

import pytest

from domain.legacy_session import CredentialKind, LegacySessionSettings, ResolveKind, WhoAmI
from domain.plan_legacy_session import legacy_session_settings
from domain.plans import load_plans
from tests.migration_plans.plan_files import GOOD, ROOT, errors_for, only_error, write

PATIENTS = (
    GOOD.replace("feature: appointments", "feature: patients")
    .replace("/api/appointments", "/api/patients")
    .replace("[APPT_SCHED]", "[PATIENT]")
    .replace("name: appointments", "name: patients")
    .replace("8101", "8102")
)


def test_without_a_section_the_legacy_app_keeps_the_demos_sessions(tmp_path):
    write(tmp_path, "appointments.yaml", GOOD)
    settings = legacy_session_settings(load_plans(tmp_path, environ={}))
    assert settings == LegacySessionSettings()
    assert (settings.credential, settings.name) == (CredentialKind.COOKIE, "SESSID")
    assert settings.resolve is ResolveKind.SESSION_TABLE


def test_one_plan_declares_it_for_the_one_legacy_app(tmp_path):
    section = (
        "legacy_session:\n  credential: basic\n"
        "  whoami: {path: /whoami, user_id: user.id, timeout_seconds: 1}\n"
    )
    write(tmp_path, "appointments.yaml", GOOD + section)
    write(tmp_path, "patients.yaml", PATIENTS)
    settings = legacy_session_settings(load_plans(tmp_path, environ={}))
    assert settings.credential is CredentialKind.BASIC
    assert settings.resolve is ResolveKind.WHOAMI
    assert settings.whoami == WhoAmI("/whoami", user_id="user.id", timeout_seconds=1.0)


def test_two_plans_that_disagree_are_refused_at_the_second(tmp_path):
    write(tmp_path, "appointments.yaml", GOOD + "legacy_session: {credential: cookie}\n")
    write(tmp_path, "patients.yaml", PATIENTS + "legacy_session: {credential: cookie, name: S}\n")
    error = only_error(tmp_path)
    assert (error.file.endswith("patients.yaml"), error.field) == (True, "legacy_session")
    assert "appointments" in error.message
    assert "one legacy app" in error.message


@pytest.mark.parametrize(
    ("section", "field", "complaint"),
    [
        ("{credential: token}", "legacy_session.credential", "is not one of"),
        ("{credential: header}", "legacy_session.name", "is required for credential: header"),
        ("{credential: basic}", "legacy_session.whoami", "is required"),
        (
            "{credential: basic, resolve: session_table}",
            "legacy_session.resolve",
            "needs whoami",
        ),
        (
            "{credential: basic, name: X, whoami: {path: /w}}",
            "legacy_session.name",
            "Authorization",
        ),
        ("{credential: cookie, name: 'a b'}", "legacy_session.name", "not a cookie or header name"),
        ("{credential: basic, whoami: {path: whoami}}", "legacy_session.whoami.path", "a path"),
        (
            "{credential: basic, whoami: {path: /w, login: 'a..b'}}",
            "legacy_session.whoami.login",
            "dotted field path",
        ),
        (
            "{credential: basic, whoami: {path: /w, timeout_seconds: 60}}",
            "legacy_session.whoami.timeout_seconds",
            "",
        ),
        (
            "{credential: basic, whoami: {path: /w, max_in_flight: 0}}",
            "legacy_session.whoami.max_in_flight",
            "",
        ),
        ("{credential: cookie, cache_seconds: 5}", "legacy_session.cache_seconds", "unknown"),
    ],
)
def test_a_bad_section_is_located(tmp_path, section, field, complaint):
    write(tmp_path, "appointments.yaml", GOOD + f"legacy_session: {section}\n")
    errors = errors_for(tmp_path)
    assert errors, section
    error = errors[0]
    line = len(GOOD.splitlines()) + 1
    assert (error.field, error.line) == (field, line), str(error)
    assert complaint in error.message


def test_the_trytond_example_in_the_docs_is_a_valid_section(tmp_path):
    doc = (ROOT / "docs" / "plans.md").read_text()
    start = doc.index("```yaml\nlegacy_session:")
    example = doc[start + len("```yaml\n") : doc.index("```", start + 3)]
    write(tmp_path, "appointments.yaml", GOOD + example)
    settings = legacy_session_settings(load_plans(tmp_path, environ={}))
    assert settings.credential is CredentialKind.TRYTOND_SESSION
    assert settings.whoami is not None
    assert (settings.whoami.method, settings.whoami.login) == ("POST", "result.login")
