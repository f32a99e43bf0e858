"""The patients service's traffic leaves no PHI in the logs: no SSN, name, birth date or phone.

Every kind of request (search by name and MRN, read, update, refused and invalid ones, /v2,
FHIR) is sent with logging at DEBUG, and the captured log is searched for the patient's values.
"""

from __future__ import annotations

import logging

import pytest

from tests.extracted.identities import OTHER_KEY, headers_for
from tests.extracted.patients.conftest import add_service_patient

pytestmark = pytest.mark.django_db(databases=["default", "patients"])

PHI = ("912-34-5678", "5678", "NGUYEN", "ELODIE", "1980-02-29", "19800229", "555-0142",
       "12 ELM ST", "M0000017")  # fmt: skip
UPDATE = {"PHONE": "(312) 555-0142", "ADDR1": "12 ELM ST", "CITY": "OAKTON", "ST": "IL",
          "ZIP": "60601"}  # fmt: skip


def test_no_request_logs_phi(client, caplog):
    add_service_patient(17, family_name="NGUYEN", given_name="ELODIE")
    caplog.set_level(logging.DEBUG)
    clin = headers_for("clinician")
    client.get("/api/patients?q=nguyen,elo", headers=clin)
    client.get("/api/patients?q=M0000017", headers=clin)
    client.get("/api/patients?q=n", headers=clin)
    client.get("/api/patients/17", headers=clin)
    client.get("/api/patients/17", headers=headers_for("auditor"))
    client.get("/api/patients/17", headers=headers_for("clinician", key=OTHER_KEY))
    client.put("/api/patients/17", data=UPDATE, content_type="application/json", headers=clin)
    client.put("/api/patients/17", data={**UPDATE, "ZIP": "bad"},
               content_type="application/json", headers=clin)  # fmt: skip
    client.get("/v2/patients?family=nguyen&birth_date=1980-02-29", headers=clin)
    client.get("/v2/patients/17", headers=headers_for("admin"))
    client.patch("/v2/patients/17", data={"phone": "555-0142 NGUYEN"},
                 content_type="application/json", headers=clin)  # fmt: skip
    client.get("/fhir/Patient?identifier=M0000017&birthdate=1980-02-29", headers=clin)

    assert "GET /api/patients/<legacy_id:patient_id> 200" in caplog.text  # logging did happen
    for value in PHI:
        assert value not in caplog.text, value
