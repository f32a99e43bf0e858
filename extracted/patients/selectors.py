"""Reads of the patients service: the legacy search rule, one patient, and filtered lists.

`patient_search` is the legacy search, rule for rule (demo/legacy/patients.py): the query is
trimmed and upper-cased; under 2 characters it is refused; `M` + 7 digits is an exact MRN;
anything else is `LAST` or `LAST,FIRST` prefixes (each part trimmed); at most 50 hits ordered
by family name, given name, id. Names are stored upper case, as in legacy.
"""

from __future__ import annotations

import re
from datetime import date

from django.db.models import QuerySet

from extracted.patients.models import AccessAudit, Patient

MIN_SEARCH_LENGTH = 2
MAX_RESULTS = 50
_MRN = re.compile(r"M[0-9]{7}")
# PAT_ID is a 32-bit INTEGER: a larger id cannot exist (and PostgreSQL would refuse to compare).
_MAX_ID = 2**31 - 1
NAME_ORDER = ("family_name", "given_name", "id")
ENCRYPTED_FIELDS = ("ssn", "phone", "address_line")


class SearchTooShortError(ValueError):
    pass


def patient_search(*, q: str) -> list[Patient]:
    term = q.strip().upper()
    if len(term) < MIN_SEARCH_LENGTH:
        raise SearchTooShortError("the search needs at least 2 characters")
    # A search shows no encrypted field, so none is loaded (or decrypted).
    found = Patient.objects.defer(*ENCRYPTED_FIELDS).order_by(*NAME_ORDER)
    if _MRN.fullmatch(term):
        return list(found.filter(mrn=term)[:MAX_RESULTS])
    last, _, first = (part.strip() for part in term.partition(","))
    found = found.filter(family_name__startswith=last)
    if first:
        found = found.filter(given_name__startswith=first)
    return list(found[:MAX_RESULTS])


def patient_get(*, patient_id: int) -> Patient | None:
    if not 0 < patient_id <= _MAX_ID:
        return None
    return Patient.objects.filter(pk=patient_id).first()


def patient_list(
    *, mrn: str | None = None, family: str | None = None, birth_date: date | None = None
) -> QuerySet[Patient]:
    """The /v2 and FHIR list: exact MRN, family-name prefix (any case), exact birth date."""
    found = Patient.objects.order_by(*NAME_ORDER)
    if mrn:
        found = found.filter(mrn=mrn.strip().upper())
    if family:
        found = found.filter(family_name__startswith=family.strip().upper())
    if birth_date is not None:
        found = found.filter(birth_date=birth_date)
    return found


def access_audit_list(
    *, record_id: str | None = None, login: str | None = None
) -> QuerySet[AccessAudit]:
    found = AccessAudit.objects.order_by("-id")
    if record_id:
        found = found.filter(record_id=record_id)
    if login:
        found = found.filter(login=login)
    return found
