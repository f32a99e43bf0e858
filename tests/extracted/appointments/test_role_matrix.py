"""Who may do what on the legacy face, persona by persona (the legacy app's own matrix)."""

from __future__ import annotations

import pytest

from tests.extracted.appointments.facts import facts_of

pytestmark = pytest.mark.django_db(databases=["default", "appointments"])

READ_OK = {"clinician", "scheduler", "billing", "admin"}
WRITE_OK = {"clinician", "scheduler", "admin"}
PERSONAS = ["clinician", "scheduler", "billing", "admin", "auditor", "operator", None]


def requests(f):
    body = (
        f'{{"PAT_ID": {f.patient}, "PROV_ID": {f.booked_prov}, "APPT_DT": "{f.booked_dt}",'
        f' "APPT_TM": "{f.free_tm}", "DUR_MIN": 15}}'
    ).encode()
    return {
        "list": ("GET", f"/api/appointments?prov={f.booked_prov}&date={f.booked_dt}", None),
        "get": ("GET", f"/api/appointments/{f.booked}", None),
        "book": ("POST", "/api/appointments", body),
        "reschedule": (
            "PUT", f"/api/appointments/{f.booked}", b'{"APPT_DT": "20261124", "APPT_TM": "0615"}'
        ),
        "cancel": ("POST", f"/api/appointments/{f.booked}/cancel", None),
    }  # fmt: skip


@pytest.mark.parametrize("persona", PERSONAS, ids=lambda p: p or "outsider")
@pytest.mark.parametrize("action", ["list", "get", "book", "reschedule", "cancel"])
def test_each_persona_gets_what_the_legacy_app_would_give(world, golden_legacy_db, persona, action):
    method, target, body = requests(facts_of(golden_legacy_db))[action]
    allowed = READ_OK if action in ("list", "get") else WRITE_OK

    answer = world.ask_service(method, target, persona, body)
    legacy = world.ask_legacy(method, target, persona, body)

    expected = 401 if persona is None else (200 if persona in allowed else 403)
    assert answer.status == expected
    assert answer.status == legacy.status
