"""Data shared between features and values that move between records, with both services and
the worker running as deployed: a rename made in the patients service reaches the name every
appointment carries (finding 6), an MRN swap made in legacy applies (finding 8), and one bad
patient row holds back only itself, not its appointments (finding 9)."""

from __future__ import annotations

import json

import pytest

from tests.support.sync_stack import SyncStack, eventually

pytestmark = pytest.mark.e2e
CHANGE = {"PHONE": "(312) 555-0142", "ADDR1": "12 ELM ST", "CITY": "OAKTON", "ST": "IL",
          "ZIP": "60601"}  # fmt: skip


def both(stack: SyncStack, *, batch_size: int | None = None) -> SyncStack:
    stack.prepare(patients=3, appointments=9)  # appointment k belongs to patient 1 + k % 3
    stack.start_service("appointments")
    stack.start_service("patients")
    stack.start_worker(*(("--batch-size", str(batch_size)) if batch_size else ()))
    stack.wait_drained()
    return stack


def names_on_appointments(stack: SyncStack, pat_id: int) -> set[str]:
    rows = stack.service_sql(
        "appointments",
        "SELECT patient_display_name FROM appointments_appointment WHERE patient_id = :p",
        p=pat_id,
    )
    return {row[0] for row in rows}


def test_a_rename_in_the_patients_service_reaches_every_appointment_of_the_patient(
    both_features_stack,
):
    stack = both(both_features_stack)
    stack.advance("patients", "shadow", "migrated")
    assert names_on_appointments(stack, 2) == {"LAST2, FIRST2"}

    renamed = stack.ask(
        "patients", "PUT", "/api/patients/2", {**CHANGE, "LAST_NM": "RENAMED", "FIRST_NM": "ANA"},
        persona="clinician",
    )  # fmt: skip
    assert renamed.status == 200

    eventually(
        "the appointments service shows the new name",
        lambda: names_on_appointments(stack, 2) == {"RENAMED, ANA"},
    )
    assert stack.legacy_patient(2)["LAST_NM"] == "RENAMED"  # reverse sync of patients
    shown = stack.ask("appointments", "GET", "/api/appointments/1").json()
    assert shown["PAT_NM"] == "RENAMED, ANA"  # appointment 1 belongs to patient 2
    stack.wait_drained()
    assert stack.drift("appointments") == 0
    assert stack.drift("patients") == 0


@pytest.mark.parametrize("batch_size", [None, 1])
def test_an_mrn_swap_in_legacy_applies_and_the_search_finds_the_right_patient(
    both_features_stack, batch_size
):
    stack = both_features_stack
    both(stack, batch_size=batch_size)
    with stack.legacy.begin() as conn:  # one transaction, as a registration clerk's tool does
        conn.exec_driver_sql("UPDATE PATIENT_MASTER SET MRN = 'SWAPTMP' WHERE PAT_ID = 1")
        conn.exec_driver_sql("UPDATE PATIENT_MASTER SET MRN = 'M0000001' WHERE PAT_ID = 2")
        conn.exec_driver_sql("UPDATE PATIENT_MASTER SET MRN = 'M0000002' WHERE PAT_ID = 1")

    eventually(
        "the service has the swapped MRNs",
        lambda: (
            (stack.find_service_row("patients", 1) or {}).get("mrn") == "M0000002"
            and (stack.find_service_row("patients", 2) or {}).get("mrn") == "M0000001"
        ),
    )
    found = stack.ask("patients", "GET", "/api/patients?q=M0000001", persona="clinician")
    assert [p["PAT_ID"] for p in json.loads(found.body)["PATIENTS"]] == [2]
    stack.wait_drained()
    assert stack.dead_letters() == []
    assert stack.drift("patients") == 0


def test_one_bad_patient_row_holds_back_only_itself(both_features_stack):
    stack = both(both_features_stack)
    stack.legacy_patient_edit(3, FIRST_NM="", DOB="20261399")  # not a date, and no first name

    eventually("the bad row is a dead letter", lambda: stack.dead_letters())
    stack.wait_drained()
    letters = stack.dead_letters()
    assert [(f, d, t, pk) for f, d, t, pk, _reason in letters] == [
        ("patients", "forward", "PATIENT_MASTER", 3)
    ]
    # Its appointments show what the legacy app shows for them: the name as the row holds it.
    assert names_on_appointments(stack, 3) == {"LAST3, "}
    assert stack.drift("appointments") == 0
