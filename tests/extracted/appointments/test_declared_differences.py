"""What the service does differently from the legacy app, on purpose, as declared in the plan.

A wall-clock time in the spring-forward gap (02:00-02:59 on the March change day in Chicago)
never happened, so it cannot be stored as an instant: the legacy app stores it anyway, the
service refuses it as an INVALID TIME (the only declared difference left: the ends of the
calendar are stored as legacy stores them, see test_calendar_end_bookings.py). Forward sync's
own writes leave no outbox row, so a copy from legacy never echoes back to legacy.
"""

from __future__ import annotations

import json

import pytest
from django.conf import settings

from domain.plan_model import AllowedDifference
from domain.plans import load_plans
from extracted.appointments.models import Appointment, Outbox
from tests.extracted.appointments.facts import facts_of

pytestmark = pytest.mark.django_db(databases=["default", "appointments"])

GAP_DAY, GAP_TIME = "20270314", "0230"  # US daylight saving starts 2027-03-14 at 02:00


def test_a_time_in_the_daylight_saving_gap_is_refused_by_the_service_only(world, golden_legacy_db):
    f = facts_of(golden_legacy_db)
    body = json.dumps({"PAT_ID": f.patient, "PROV_ID": f.booked_prov, "APPT_DT": GAP_DAY,
                       "APPT_TM": GAP_TIME, "DUR_MIN": 15}).encode()  # fmt: skip

    legacy = world.ask_legacy("POST", "/api/appointments", "clinician", body)
    service = world.ask_service("POST", "/api/appointments", "clinician", body)

    assert legacy.status == 200
    assert (service.status, service.body) == (400, b'{"ERR": "INVALID TIME", "CODE": 303}')
    assert not Outbox.objects.exists()
    # An accepted difference is one the plan declares, with its reason.
    assert _declared("POST /api/appointments", "spring-forward gap").reason


def _declared(route: str, words: str) -> AllowedDifference:
    (plan,) = (
        p for p in load_plans(settings.FICUS_PLANS_DIR, environ={}) if p.feature == "appointments"
    )
    (found,) = (d for d in plan.contract.differences if d.route == route and words in d.what)
    return found


def test_the_forward_copy_writes_no_outbox_row(world):
    # `world` filled the service through apply_legacy_appointments.
    assert Appointment.objects.exists()
    assert not Outbox.objects.exists()
