"""A clinician books and reschedules at the very ends of the legacy calendar, with the hospital
zone west (Chicago) and east (Tokyo) of Greenwich, on the legacy face, /v2 and FHIR.

9999-12-31 23:30 in Chicago is 10000-01-01 05:30 in UTC, and 0001-01-01 00:00 in Tokyo is
0000-12-31 14:41:01 in UTC (local mean time, +9:18:59): no UTC datetime holds either. The
legacy app stores both, so the service must too: the same answers as legacy, the same rows
once reverse sync has applied the outbox, and the local time on /v2. FHIR's `instant` has no
year 0 and no offset with seconds, so the one FHIR cannot write is a 400 OperationOutcome.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fhir.resources.R4B.appointment import Appointment as FhirAppointment
from fhir.resources.R4B.operationoutcome import OperationOutcome

from domain.records.codecs import LocalDateTimeCodec
from extracted.appointments.api_v2 import AppointmentSerializer
from extracted.appointments.fhir import appointment_resource
from extracted.appointments.models import Appointment
from extracted.core.fhir import NotAnInstant
from extracted.core.legacy_db import reset_legacy_engines
from tests.extracted.appointments.facts import facts_of
from tests.extracted.appointments.test_legacy_contract_cases import VOLATILE
from tests.extracted.appointments.test_legacy_contract_properties import (
    _apply_outbox,
    _legacy_rows,
)
from tests.extracted.appointments.world import World, masked
from tests.extracted.identities import KEY

pytestmark = pytest.mark.django_db(databases=["default", "appointments"])

LAST = ("99991231", "2330")
FIRST = ("00010101", "0000")


@pytest.fixture(params=["America/Chicago", "Asia/Tokyo"])
def zoned(request, golden_legacy_db, tmp_path, settings, client) -> Iterator[World]:
    settings.FICUS_IDENTITY_KEY = KEY
    settings.FICUS_HOSPITAL_TZ = request.param
    built = World(golden_legacy_db, tmp_path, client)
    settings.LEGACY_DATABASE_URL = built.service_legacy_url
    built.copy_forward(request.param)
    yield built
    built.close()
    reset_legacy_engines()


def _both(world: World, method: str, target: str, body: dict[str, Any] | None = None) -> Any:
    raw = None if body is None else json.dumps(body).encode()
    legacy = world.ask_legacy(method, target, "clinician", raw)
    service = world.ask_service(method, target, "clinician", raw)
    assert legacy.status == 200, legacy.body
    assert (service.status, masked(service.body, VOLATILE)) == (200, masked(legacy.body, VOLATILE))
    return service.json()


def _same_rows_after_sync(world: World) -> None:
    _apply_outbox(world)
    assert _legacy_rows(world.service_legacy_path) == _legacy_rows(world.legacy_path)


def _local_iso(day: str, clock: str, zone: str) -> str:
    wall = datetime(int(day[:4]), int(day[4:6]), int(day[6:]), int(clock[:2]), int(clock[2:]))
    return wall.replace(tzinfo=ZoneInfo(zone)).isoformat()


def _fhir_start(world: World, appointment_id: int) -> str | None:
    """The FHIR start, or None when the answer is the 400 OperationOutcome for an instant FHIR
    cannot write (anything else fails the test)."""
    answer = world.ask_service("GET", f"/fhir/Appointment/{appointment_id}", "clinician")
    if answer.status == 400:
        outcome = OperationOutcome.model_validate_json(answer.body)
        assert [issue.code for issue in outcome.issue] == ["not-supported"]
        assert "FHIR instant" in (outcome.issue[0].diagnostics or "")
        return None
    assert answer.status == 200, answer.body
    assert FhirAppointment.model_validate_json(answer.body).start is not None  # valid FHIR R4
    return str(answer.json()["start"])


@pytest.mark.parametrize(("booked_at", "moved_to"), [(LAST, FIRST), (FIRST, LAST)])
def test_a_clinician_books_and_reschedules_at_the_ends_of_the_calendar(
    zoned: World, golden_legacy_db, settings, booked_at, moved_to
):
    f = facts_of(golden_legacy_db)
    zone = settings.FICUS_HOSPITAL_TZ
    for (day, clock), write in ((booked_at, "POST"), (moved_to, "PUT")):
        if write == "POST":
            body = {"PAT_ID": f.patient, "PROV_ID": f.booked_prov, "APPT_DT": day,
                    "APPT_TM": clock, "DUR_MIN": 15, "REASON_TXT": "FAR"}  # fmt: skip
            booked = _both(zoned, "POST", "/api/appointments", body)["APPT_ID"]
        else:
            _both(zoned, "PUT", f"/api/appointments/{booked}", {"APPT_DT": day, "APPT_TM": clock})
        _same_rows_after_sync(zoned)

        shown = _both(zoned, "GET", f"/api/appointments/{booked}")
        assert (shown["APPT_DT"], shown["APPT_TM"]) == (day, clock)
        listed = _both(zoned, "GET", f"/api/appointments?prov={f.booked_prov}&date={day}")
        assert [item["APPT_ID"] for item in listed["APPTS"]] == [booked]

        v2 = zoned.ask_service("GET", f"/v2/appointments/{booked}", "clinician")
        assert v2.status == 200, v2.body
        assert v2.json()["starts_at"] == _local_iso(day, clock, zone)
        found = zoned.ask_service("GET", f"/v2/appointments?date={day[:4]}-{day[4:6]}-{day[6:]}",
                                  "clinician").json()  # fmt: skip
        assert booked in [item["id"] for item in found["results"]]

        fhir = _fhir_start(zoned, booked)
        if (day, clock, zone) == (*FIRST, "Asia/Tokyo"):
            assert fhir is None  # year 0 in UTC, and LMT's +09:18:59 is no FHIR offset
            search = zoned.ask_service("GET", "/fhir/Appointment?date=0001-01-01", "clinician")
            assert search.status == 400  # a page holding it cannot be a FHIR Bundle either
            assert search.json()["issue"][0]["code"] == "not-supported"
        elif (day, clock) == FIRST:
            assert fhir == "0001-01-01T05:50:36+00:00"  # Chicago's LMT offset, -5:50:36
        else:
            assert fhir == _local_iso(day, clock, zone)


@pytest.mark.parametrize("starts_at", ["9999-12-31T23:30:00", "0001-01-01T00:00:00"])
def test_v2_books_at_the_ends_of_the_calendar_in_hospital_time(zoned: World, golden_legacy_db,
                                                               settings, starts_at):  # fmt: skip
    f = facts_of(golden_legacy_db)
    body = {"patient_id": f.patient, "provider_id": f.booked_prov, "starts_at": starts_at,
            "duration_minutes": 15}  # fmt: skip
    answer = zoned.ask_service("POST", "/v2/appointments", "clinician", json.dumps(body).encode())
    assert answer.status == 201, answer.body
    zone = ZoneInfo(settings.FICUS_HOSPITAL_TZ)
    assert (
        answer.json()["starts_at"]
        == datetime.fromisoformat(starts_at).replace(tzinfo=zone).isoformat()
    )
    _apply_outbox(zoned)
    day = starts_at[:10].replace("-", "")
    (row,) = [r for r in _legacy_rows(zoned.service_legacy_path) if r[0] == answer.json()["id"]]
    assert (row[3], row[4]) == (day, starts_at[11:13] + starts_at[14:16])


def test_an_end_no_time_can_name_is_null_on_v2_and_refused_on_fhir(settings):
    # Legacy keeps a start and up to 1,440 minutes: a day-long appointment booked at 23:30 on
    # 9999-12-31 in Chicago ends after the last instant any aware time (or RFC 3339) names.
    settings.FICUS_HOSPITAL_TZ = "America/Chicago"
    zone = ZoneInfo("America/Chicago")
    late = Appointment(
        pk=7,
        patient_id=17,
        patient_display_name="DOE, JANE",
        provider_id=3,
        starts_at=LocalDateTimeCodec(zone).decode("99991231", "2330"),
        duration_minutes=1440,
        status=Appointment.Status.BOOKED,
        reason="",
        source_updated_at=datetime(2026, 1, 1, tzinfo=UTC),
    )

    assert AppointmentSerializer(late).data["ends_at"] is None  # never a clamped, wrong end
    with pytest.raises(NotAnInstant, match="The end of Appointment/7"):
        appointment_resource(late, zone)
