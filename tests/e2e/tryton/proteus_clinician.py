"""A clinician's errand in proteus, Tryton's own client library; run by .venv-tryton's python.

    .venv-tryton/bin/python tests/e2e/tryton/proteus_clinician.py URL DATABASE

logs in as admin (password from TRYTON_ADMIN_PASSWORD), registers a synthetic patient (a
person party marked as one), finds them again with search_read, reads a field through the
patient's party, and prints what it got as JSON: the test runs it direct and through Ficus and
compares the two.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import urllib.parse

from proteus import Model, config  # type: ignore[import-not-found]

# Not `code`: GNU Health makes it from a random UUID, so it differs on every run.
PARTY_FIELDS = ["name", "lastname", "ref", "is_person", "is_patient", "gender", "dob"]


def main(url: str, database: str) -> None:
    password = urllib.parse.quote(os.environ["TRYTON_ADMIN_PASSWORD"], safe="")
    host = urllib.parse.urlsplit(url).netloc
    connection = config.set_xmlrpc(f"http://admin:{password}@{host}/{database}/")
    party_model = Model.get("party.party")
    patient_model = Model.get("gnuhealth.patient")

    party = party_model(
        name="Ada",
        lastname="Synthetic",
        ref="SYN-0001",
        is_person=True,
        is_patient=True,
        gender="f",
        dob=dt.date(1970, 1, 1),
    )
    party.save()
    # GNU Health registers the patient itself when a person party is marked as one.
    (patient,) = patient_model.find([("party", "=", party.id)])

    found = party_model._proxy.search_read(
        [("lastname", "=", "Synthetic")], 0, None, [("id", "ASC")], PARTY_FIELDS, connection.context
    )
    print(
        json.dumps(
            {
                "party_id": party.id,
                "patient_id": patient.id,
                "search_read": found,
                "patient_party_name": patient_model(patient.id).party.name,
            },
            default=str,
            sort_keys=True,
        )
    )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
